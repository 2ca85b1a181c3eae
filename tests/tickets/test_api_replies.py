"""The agent API of #11: placeholder refusals, canned responses flagged, the survey's order."""

import pytest
from knox.models import AuthToken

from tickets import notify
from tickets.models import CannedResponse

pytestmark = pytest.mark.django_db


def auth(user) -> dict:
    _, key = AuthToken.objects.create(user=user)
    return {"HTTP_AUTHORIZATION": f"Token {key}"}


@pytest.fixture
def setup(make_agent, make_ticket, queue):
    return {"a": make_agent(queue, username="agent-a"), "t": make_ticket(openid="o-ph")}


def test_a_reply_with_a_placeholder_without_value_is_refused(client, setup):
    ticket = setup["t"]
    response = client.post(
        f"/api/tickets/{ticket.pk}/replies/",
        {"text": "您好，正在核查发票 {invoice_number} 的情况"},
        content_type="application/json",
        **auth(setup["a"]),
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "placeholder_unfilled"
    assert "{invoice_number}" in error["message"] and "text" in error["fields"]
    assert not ticket.messages.filter(author_kind="agent").exists()


def test_canned_responses_flag_what_has_no_value(client, setup):
    ticket = setup["t"]
    CannedResponse.objects.create(
        title="核查", text="{nickname}，您好！正在核查发票 {invoice_number}"
    )
    rows = client.get(f"/api/canned-responses/?ticket={ticket.pk}", **auth(setup["a"])).json()
    [row] = [r for r in rows if r["title"] == "核查"]
    assert row["filled"] == "张三，您好！正在核查发票 {invoice_number}"
    assert row["unfilled"] == ["invoice_number"]


def test_the_admin_refuses_it_too(client, setup):
    ticket = setup["t"]
    client.force_login(setup["a"])
    response = client.post(
        f"/admin/tickets/ticket/{ticket.pk}/reply/", {"text": "{agent_name} 和 {invoice_number}"}
    )
    assert response.status_code == 302
    page = client.get(f"/admin/tickets/ticket/{ticket.pk}/change/").content.decode()
    assert "{invoice_number}" in page and "没有可填的值" in page
    assert not ticket.messages.filter(author_kind="agent").exists()


def test_a_reply_that_resolves_carries_the_survey_after_the_answer(client, setup, settings):
    settings.TICKETS_NOTIFY_BACKEND = "tickets.notify.LocmemBackend"
    notify.outbox.clear()
    ticket = setup["t"]
    response = client.post(
        f"/api/tickets/{ticket.pk}/replies/",
        {"text": "已为您处理好", "status": "resolved"},
        content_type="application/json",
        **auth(setup["a"]),
    )
    assert response.status_code in (200, 201)
    mine = [(kind, detail) for number, kind, detail in notify.outbox if number == ticket.number]
    assert mine[-2:] == [("reply", "已为您处理好"), ("resolved", "")]
    assert [k for k, _ in mine].count("resolved") == 1
