"""The 意见建议 inbox: suggestions through the webhook, worked in admin and over the API."""

import pytest
from rest_framework.test import APIClient

from bot.feedback.models import AnswerRating, Suggestion

pytestmark = pytest.mark.django_db

INBOX = "/api/feedback/"


def say(wechat, openid, text):
    return wechat.reply(wechat.text(openid, text))["Content"]


@pytest.fixture
def suggestions(wechat):
    say(wechat, "o-s1", "建议查验页面做得简单点")
    say(wechat, "o-s2", "希望能增加发票到期提醒")
    return list(Suggestion.objects.order_by("id"))


def test_the_inbox_lists_suggestions_newest_first(suggestions, supervisor_api):
    body = supervisor_api.get(INBOX).json()
    assert body["count"] == 2
    assert [s["text"] for s in body["results"]] == [
        "希望能增加发票到期提醒",
        "建议查验页面做得简单点",
    ]
    first = body["results"][1]
    assert (first["openid"], first["status"], first["handled_by"], first["handled_at"]) == (
        "o-s1",
        "new",
        None,
        None,
    )


def test_marking_done_records_who_and_when(suggestions, supervisor_api, supervisor):
    target = suggestions[0]
    response = supervisor_api.post(
        f"{INBOX}{target.pk}/status/", {"status": "done", "note": "已转产品组"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["handled_by"]) == ("done", "boss")
    target.refresh_from_db()
    assert target.handled_by == supervisor and target.handled_at and target.note == "已转产品组"
    listed = supervisor_api.get(INBOX, {"status": "new"}).json()
    assert [s["text"] for s in listed["results"]] == ["希望能增加发票到期提醒"]


def test_a_bad_status_is_refused_in_the_one_error_format(suggestions, supervisor_api):
    response = supervisor_api.post(f"{INBOX}{suggestions[0].pk}/status/", {"status": "x"})
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["status"]


def test_agents_and_strangers_cannot_work_the_inbox(suggestions, agent_api):
    url = f"{INBOX}{suggestions[0].pk}/status/"
    assert agent_api.post(url, {"status": "read"}).status_code == 403
    assert APIClient().post(url, {"status": "read"}).status_code == 401
    assert Suggestion.objects.filter(status="new").count() == 2


def test_admin_marks_suggestions_read_in_bulk(suggestions, client, supervisor):
    client.force_login(supervisor)
    page = client.get("/admin/feedback/suggestion/")
    assert page.status_code == 200 and "建议查验页面做得简单点" in page.content.decode()
    client.post(
        "/admin/feedback/suggestion/",
        {"action": "mark_read", "_selected_action": [s.pk for s in suggestions]},
    )
    assert set(Suggestion.objects.values_list("status", "handled_by__username")) == {
        ("read", "boss")
    }


def test_admin_shows_ratings_per_faq_entry(wechat, client, supervisor):
    say(wechat, "o-r1", "今天开的发票为什么查验不了")
    say(wechat, "o-r1", "有用")
    say(wechat, "o-r2", "今天开的发票为什么查验不了")
    say(wechat, "o-r2", "没用")
    assert AnswerRating.objects.count() == 2
    client.force_login(supervisor)
    page = client.get("/admin/feedback/answerrating/").content.decode()
    assert "按问答条目统计" in page and "sync_delay" in page and "50%" in page


def test_agents_do_not_see_the_inbox_in_admin(suggestions, client, agent):
    client.force_login(agent)
    assert client.get("/admin/feedback/suggestion/").status_code == 403
