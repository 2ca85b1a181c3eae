"""The desk's roles: groups with the least permissions, the demo logins, "my work"."""

import pytest
from django.contrib.auth.models import Group
from knox.models import AuthToken

from support.roles import Role
from tickets import services
from tickets.models import AgentProfile, Queue

pytestmark = pytest.mark.django_db


def _login(django_user_model, name, role, *, supervisor=False, queues=None):
    user = django_user_model.objects.create_user(name, password="pw-roles-1", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    profile = AgentProfile.objects.create(user=user, on_duty=True, is_supervisor=supervisor)
    profile.queues.set(queues if queues is not None else Queue.objects.all())
    return user


def test_the_groups_hold_the_permissions_of_their_work():
    agent = set(Group.objects.get(name=Role.AGENT).permissions.values_list("codename", flat=True))
    lead = set(
        Group.objects.get(name=Role.SUPERVISOR).permissions.values_list("codename", flat=True)
    )
    assert {"view_ticket", "change_ticket", "view_cannedresponse", "view_attachment"} <= agent
    assert not {"delete_ticket", "add_cannedresponse", "view_user", "view_group"} & agent
    assert {"add_cannedresponse", "change_queue", "view_broadcast"} <= lead
    assert agent <= lead
    assert not any(c.endswith("_user") or c.endswith("_authtoken") for c in lead)


def test_an_agent_cannot_reach_reports_users_or_tokens(client, django_user_model):
    agent = _login(django_user_model, "agent-r", Role.AGENT)
    client.force_login(agent)
    assert client.get("/admin/tickets/ticket/").status_code == 200
    for url in ("/admin/reports/", "/admin/auth/user/", "/admin/knox/authtoken/"):
        assert client.get(url).status_code in (302, 403, 404), url
    headers = {"HTTP_AUTHORIZATION": f"Token {AuthToken.objects.create(user=agent)[1]}"}
    assert client.get("/api/reports/summary/", **headers).status_code == 403
    assert client.get("/api/tickets/", **headers).status_code == 200
    home = client.get("/admin/").content.decode()
    assert "我的工作" in home and "/admin/auth/user/" not in home


def test_a_supervisor_reaches_reports(client, django_user_model):
    lead = _login(django_user_model, "lead-r", Role.SUPERVISOR, supervisor=True)
    client.force_login(lead)
    assert client.get("/admin/reports/").status_code == 200


def test_my_work_counts_my_tickets_the_unassigned_and_the_waiting(client, django_user_model):
    queue = Queue.objects.get(is_default=True)
    agent = _login(django_user_model, "agent-w", Role.AGENT, queues=[queue])
    mine = services.ticket_escalate(
        requester_ref="o-w1", category="invoice_not_found", reason="asked", text="查不到"
    ).ticket
    services.ticket_assign(ticket=mine, assignee=agent, actor=agent)
    services.ticket_escalate(
        requester_ref="o-w2", category="invoice_not_found", reason="asked", text="也查不到"
    )
    waiting = services.ticket_escalate(
        requester_ref="o-w3", category="invoice_not_found", reason="asked", text="还是查不到"
    ).ticket
    services.ticket_reply_send(ticket=waiting, author=agent, text="请提供照片", status="pending")
    client.force_login(agent)
    html = client.get("/admin/").content.decode()
    from tickets.selectors import agent_work

    counts = {w.key: w.count for w in agent_work(user=agent)}
    assert counts["mine"] == 1 and counts["unassigned"] == 1 and counts["waiting"] == 1
    assert mine.number in html and waiting.number in html


def test_the_live_endpoint_sends_new_messages_and_who_else_is_typing(client, django_user_model):
    a = _login(django_user_model, "agent-la", Role.AGENT)
    b = _login(django_user_model, "agent-lb", Role.AGENT)
    ticket = services.ticket_escalate(
        requester_ref="o-live", category="invoice_not_found", reason="asked", text="查不到"
    ).ticket
    last = ticket.messages.order_by("-id").first().pk
    url = f"/admin/tickets/ticket/{ticket.pk}/live/"
    client.force_login(a)
    assert client.post(f"{url}?after={last}").json()["html"].strip() == ""  # a's heartbeat
    services.ticket_requester_message_add(ticket=ticket, text="还在吗", external_ref="wx:live-1")
    client.force_login(b)
    body = client.get(f"{url}?after={last}").json()
    assert "还在吗" in body["html"] and body["last_id"] > last
    assert body["others_typing"] == ["客服"]  # a, by display name (no name set: 客服)
    client.force_login(a)
    assert client.get(f"{url}?after={last}").json()["others_typing"] == []
