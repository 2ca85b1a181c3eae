"""The reply window as WeChat counts it (48 h, 5 customer-service messages), via the API."""

from datetime import timedelta

import pytest
from django.utils import timezone
from knox.models import AuthToken

from bot.conversations.models import Follower
from bot.notices.models import Notice, NoticeTemplate
from tickets import services
from tickets.models import AgentProfile, Queue

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def wechat_backend(settings):
    settings.TICKETS_NOTIFY_BACKEND = "bot.helpdesk.backend.WeChatTicketBackend"
    settings.NOTICES_DEFAULT_TEMPLATE_ID = ""
    settings.WECHAT_DEFAULT_TEMPLATE_ID = ""
    NoticeTemplate.objects.all().delete()


@pytest.fixture
def agent(django_user_model):
    user = django_user_model.objects.create_user("agent-win", is_staff=True)
    profile = AgentProfile.objects.create(user=user, on_duty=True)
    profile.queues.set(Queue.objects.all())
    return user


def _headers(user):
    return {"HTTP_AUTHORIZATION": f"Token {AuthToken.objects.create(user=user)[1]}"}


def _ticket(openid):
    Follower.objects.create(openid=openid, subscribed=True, last_interaction_at=timezone.now())
    return services.ticket_escalate(
        requester_ref=openid, category="invoice_not_found", reason="asked", text="查不到"
    ).ticket


def _reply(client, ticket, headers, text, capture):
    with capture(execute=True):
        response = client.post(
            f"/api/tickets/{ticket.pk}/replies/",
            {"text": text},
            content_type="application/json",
            **headers,
        )
    assert response.status_code == 201
    return response.json()


def test_the_window_counts_down_and_a_user_message_resets_it(
    client, agent, fake_wechat, wechat, django_capture_on_commit_callbacks
):
    ticket = _ticket("o-win")
    headers = _headers(agent)
    window = client.get(f"/api/tickets/{ticket.pk}/", **headers).json()["reply_window"]
    assert window["open"] is True and window["messages_left"] == 5
    closes = timezone.datetime.fromisoformat(window["closes_at"])
    assert timedelta(hours=47, minutes=59) < closes - timezone.now() <= timedelta(hours=48)
    lefts = [
        _reply(client, ticket, headers, f"第{i}条", django_capture_on_commit_callbacks)[
            "reply_window"
        ]["messages_left"]
        for i in range(1, 6)
    ]
    assert lefts == [4, 3, 2, 1, 0]
    window = client.get(f"/api/tickets/{ticket.pk}/", **headers).json()["reply_window"]
    assert window == {**window, "open": False, "messages_left": 0}
    wechat.text("o-win", "还是查不到")  # the follower writes: a fresh window
    window = client.get(f"/api/tickets/{ticket.pk}/", **headers).json()["reply_window"]
    assert window["open"] is True and window["messages_left"] == 5


def test_45047_closes_the_window_and_the_reply_waits_for_the_follower(
    client, agent, fake_wechat, wechat, django_capture_on_commit_callbacks
):
    ticket = _ticket("o-quota")
    headers = _headers(agent)
    fake_wechat.fail_next("/cgi-bin/message/custom/send", 45047)
    _reply(client, ticket, headers, "请提供发票照片", django_capture_on_commit_callbacks)
    notice = Notice.objects.get(follower__openid="o-quota")
    assert notice.status == Notice.Status.FAILED and notice.error_code == 45047
    page = client.get(f"/api/tickets/{ticket.pk}/", **headers).json()
    assert page["reply_window"]["open"] is False and page["reply_window"]["messages_left"] == 0
    client.force_login(agent)
    html = client.get(f"/admin/tickets/ticket/{ticket.pk}/change/").content.decode()
    assert "等待用户回复后发送" in html
    # The follower writes again: the waiting reply goes out, the window counts it.
    with django_capture_on_commit_callbacks(execute=True):
        wechat.text("o-quota", "好的我找一下")
    notice.refresh_from_db()
    assert notice.status == Notice.Status.SENT
    sent = [c.body["text"]["content"] for c in fake_wechat.calls("/cgi-bin/message/custom/send")]
    assert any("请提供发票照片" in text for text in sent)
    window = client.get(f"/api/tickets/{ticket.pk}/", **headers).json()["reply_window"]
    assert window["messages_left"] == 4
