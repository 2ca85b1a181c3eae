"""A supervisor in admin: write, preview and send a broadcast; open and resolve an incident."""

import pytest
from django.contrib.auth import get_user_model

from bot.notices.models import Broadcast, Incident, IncidentFollower, NoticeTemplate
from tests.bot.notices.helpers import sent_to

pytestmark = pytest.mark.django_db


@pytest.fixture
def supervisor(client):
    user = get_user_model().objects.create_superuser("boss", password="pw-123456")
    client.force_login(user)
    return user


def _broadcast_form(**extra):
    data = {
        "title": "",
        "text": "系统维护通知",
        "link": "",
        "audience": "all",
        "tag": "",
        "intent": "",
        "region": "",
        "since_0": "",
        "since_1": "",
        "until_0": "",
        "until_1": "",
        "incident": "",
        "preview_follower": "",
        "scheduled_at_0": "",
        "scheduled_at_1": "",
    }
    data.update(extra)
    return data


def test_write_preview_send_and_watch_progress(
    client, supervisor, make_follower, fake_wechat, template, django_capture_on_commit_callbacks
):
    me = make_follower("o-me", hours_ago=1)
    make_follower("o-other", hours_ago=100)
    response = client.post("/admin/notices/broadcast/add/", _broadcast_form())
    assert response.status_code == 302, _errors(response)
    broadcast = Broadcast.objects.get()
    assert (broadcast.status, broadcast.created_by) == ("draft", supervisor)
    url = f"/admin/notices/broadcast/{broadcast.pk}/change/"

    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, _broadcast_form(preview_follower=me.pk, _preview="1"))
    assert [c.body["text"]["content"] for c in sent_to(fake_wechat, "o-me")] == [
        "【预览】系统维护通知"
    ]
    assert sent_to(fake_wechat, "o-other") == []

    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, _broadcast_form(preview_follower=me.pk, _send_now="1"))
    broadcast.refresh_from_db()
    assert broadcast.status == "done"
    assert len(sent_to(fake_wechat, "o-other")) == 1
    page = client.get(url).content.decode()
    assert "notices-progress" in page and "已发 2" in page
    assert "notices-progress" in client.get("/admin/notices/broadcast/").content.decode()


def test_audience_errors_are_shown_on_the_form(client, supervisor):
    response = client.post("/admin/notices/broadcast/add/", _broadcast_form(audience="intent"))
    assert response.status_code == 200
    assert "缺少参数" in response.content.decode()
    assert not Broadcast.objects.exists()


def test_open_update_and_resolve_an_incident(
    client, supervisor, make_follower, fake_wechat, template, django_capture_on_commit_callbacks
):
    data = {"title": "北京地区发票查验异常", "region": "北京", "issuer": "", "system": ""}
    inline = {
        "updates-TOTAL_FORMS": "0",
        "updates-INITIAL_FORMS": "0",
        "updates-MIN_NUM_FORMS": "0",
        "updates-MAX_NUM_FORMS": "1000",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/notices/incident/add/", {**data, **inline, "new_body": "正在排查"}
        )
    assert response.status_code == 302, _errors(response)
    incident = Incident.objects.get()
    assert (incident.status, incident.updates.count()) == ("investigating", 1)
    follower = make_follower("o-affected", hours_ago=100)
    IncidentFollower.objects.create(incident=incident, follower=follower, source="manual")
    inline["updates-TOTAL_FORMS"] = inline["updates-INITIAL_FORMS"] = "1"
    inline["updates-0-id"] = str(incident.updates.get().pk)
    inline["updates-0-incident"] = str(incident.pk)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/admin/notices/incident/{incident.pk}/change/",
            {**data, **inline, "new_status": "resolved", "new_body": "已恢复"},
        )
    assert response.status_code == 302, _errors(response)
    incident.refresh_from_db()
    assert incident.status == "resolved"
    [call] = sent_to(fake_wechat, "o-affected")
    assert "已恢复" in call.body["data"]["thing2"]["value"]


def test_confirm_a_proposed_incident_from_the_list(
    client, supervisor, make_follower, fake_wechat, template, django_capture_on_commit_callbacks
):
    incident = Incident.objects.create(title="检测到异常", region="北京", status="proposed")
    follower = make_follower("o-p", hours_ago=100)
    IncidentFollower.objects.create(incident=incident, follower=follower, source="detected")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/admin/notices/incident/",
            {"action": "confirm", "_selected_action": [incident.pk]},
        )
    incident.refresh_from_db()
    assert incident.status == "investigating"
    assert len(sent_to(fake_wechat, "o-p")) == 1


def test_template_mapping_is_editable(client, supervisor):
    response = client.post(
        "/admin/notices/noticetemplate/add/",
        {
            "kind": "ticket_event",
            "template_id": "TPL-TICKET",
            "field_mapping": '{"thing1": "{text}"}',
            "active": "on",
        },
    )
    assert response.status_code == 302
    assert NoticeTemplate.objects.get().field_mapping == {"thing1": "{text}"}


def test_template_form_offers_a_subscribe_message(client, supervisor):
    page = client.get("/admin/notices/noticetemplate/add/").content.decode()
    assert 'name="message_type"' in page and "订阅通知" in page and 'name="page"' in page
    response = client.post(
        "/admin/notices/noticetemplate/add/",
        {
            "kind": "invoice_in_system",
            "message_type": "subscribe",
            "template_id": "SUB-INVOICE",
            "field_mapping": '{"thing1": "{title}", "thing2": "{text}"}',
            "page": "https://fapiao.example.com/help",
            "active": "on",
        },
    )
    assert response.status_code == 302
    saved = NoticeTemplate.objects.get()
    assert (saved.message_type, saved.template_id, saved.page) == (
        "subscribe",
        "SUB-INVOICE",
        "https://fapiao.example.com/help",
    )
    listing = client.get("/admin/notices/noticetemplate/").content.decode()
    assert "订阅通知" in listing


def test_template_mapping_must_map_fields_to_text(client, supervisor):
    response = client.post(
        "/admin/notices/noticetemplate/add/",
        {"kind": "ticket_event", "template_id": "T", "field_mapping": '["thing1"]'},
    )
    assert response.status_code == 200
    assert "字段映射须为" in response.content.decode()
    assert not NoticeTemplate.objects.exists()


def _errors(response) -> str:
    context = response.context_data or {}
    form = context.get("adminform")
    inlines = context.get("inline_admin_formsets", [])
    return f"{form.form.errors if form else ''} {[i.formset.errors for i in inlines]}"
