"""The agent API through the URL: list, detail, patch, replies, notes; the permissions matrix."""

import pytest
from knox.models import AuthToken

from tickets import services
from tickets.models import Queue, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(make_agent, make_ticket, queue):
    complaint = Queue.objects.get(slug="complaint")
    return {
        "a": make_agent(queue, username="agent-a"),
        "b": make_agent(complaint, username="agent-b"),
        "lead": make_agent(username="lead", supervisor=True),
        "ta": make_ticket(openid="o-api-1", invoices=[{"number": "24117000000212341234"}]),
        "tb": make_ticket(openid="o-api-2", category="complaint", text="太慢了"),
    }


def auth(user) -> dict:
    _, key = AuthToken.objects.create(user=user)
    return {"HTTP_AUTHORIZATION": f"Token {key}"}


def test_anonymous_and_non_agents_are_refused(client, setup, django_user_model):
    assert client.get("/api/tickets/").status_code in (401, 403)
    staff = django_user_model.objects.create_user("clerk", is_staff=True)  # no agent profile
    assert client.get("/api/tickets/", **auth(staff)).status_code == 403
    pk = setup["ta"].pk
    assert client.post(f"/api/tickets/{pk}/replies/", {"text": "x"}).status_code in (401, 403)


def test_permissions_matrix(client, setup):
    ta, tb = setup["ta"], setup["tb"]
    expect = {"a": {ta.number}, "b": {tb.number}, "lead": {ta.number, tb.number}}
    for name, numbers in expect.items():
        headers = auth(setup[name])
        listed = client.get("/api/tickets/", **headers).json()["results"]
        assert {row["number"] for row in listed} == numbers, name
        for ticket in (ta, tb):
            status = client.get(f"/api/tickets/{ticket.pk}/", **headers).status_code
            assert status == (200 if ticket.number in numbers else 404), (name, ticket.number)
    # Agent A cannot write to queue B's ticket either.
    response = client.post(
        f"/api/tickets/{tb.pk}/replies/",
        {"text": "越权"},
        content_type="application/json",
        **auth(setup["a"]),
    )
    assert response.status_code == 404
    assert not tb.messages.filter(author_kind="agent").exists()


def test_list_filters_and_fields(client, setup):
    headers = auth(setup["lead"])
    body = client.get("/api/tickets/?openid=o-api-2", **headers).json()
    assert body["count"] == 1
    row = body["results"][0]
    assert row["openid"] == "o-api-2"
    assert row["queue"] == "complaint"
    assert {"id", "number", "status", "assignee", "created_at", "first_response_due"} <= set(row)
    assert client.get("/api/tickets/?status=closed", **headers).json()["count"] == 0
    assert client.get("/api/tickets/?queue=verify", **headers).json()["count"] == 1


def test_detail_has_the_conversation_and_invoices(client, setup):
    body = client.get(f"/api/tickets/{setup['ta'].pk}/", **auth(setup["a"])).json()
    assert body["invoices"] == [{"number": "24117000000212341234"}]
    assert [m["text"] for m in body["messages"]] == ["发票查不到"]


def test_reply_note_and_patch(client, setup, locmem_backend):
    headers = auth(setup["a"])
    ta = setup["ta"]
    reply = client.post(
        f"/api/tickets/{ta.pk}/replies/",
        {"text": "您好，正在核查", "status": "pending"},
        content_type="application/json",
        **headers,
    )
    assert reply.status_code == 201, reply.content
    assert reply.json()["delivery_status"] == "已送达"
    assert (ta.number, "reply", "您好，正在核查") in locmem_backend
    note = client.post(
        f"/api/tickets/{ta.pk}/notes/",
        {"text": "疑似未上传"},
        content_type="application/json",
        **headers,
    )
    assert note.status_code == 201
    patch = client.patch(
        f"/api/tickets/{ta.pk}/",
        {"status": "resolved", "priority": "low", "tags": ["已补开"]},
        content_type="application/json",
        **headers,
    )
    assert patch.status_code == 200, patch.content
    assert patch.json()["status"] == "resolved"
    ticket = Ticket.objects.get(pk=ta.pk)
    assert (ticket.status, ticket.priority, ticket.assignee) == ("resolved", "low", setup["a"])
    assert ticket.tags == ["已补开"]
    kinds = list(ticket.messages.values_list("author_kind", flat=True))
    assert kinds == ["user", "agent", "note"]


def test_invalid_transition_is_a_409_with_a_stable_code(client, setup):
    headers = auth(setup["a"])
    ta = setup["ta"]
    client.patch(
        f"/api/tickets/{ta.pk}/", {"status": "closed"}, content_type="application/json", **headers
    )
    response = client.patch(
        f"/api/tickets/{ta.pk}/", {"status": "open"}, content_type="application/json", **headers
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_transition"


def test_assignee_outside_the_queue_is_refused(client, setup):
    response = client.patch(
        f"/api/tickets/{setup['ta'].pk}/",
        {"assignee": "agent-b"},
        content_type="application/json",
        **auth(setup["lead"]),
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_in_queue"


def test_queues_and_canned_responses(client, setup):
    slugs = [q["slug"] for q in client.get("/api/queues/", **auth(setup["a"])).json()]
    assert slugs == ["verify"]
    rows = client.get(f"/api/canned-responses/?ticket={setup['ta'].pk}", **auth(setup["a"])).json()
    filled = [row["filled"] for row in rows]
    assert any(setup["ta"].number in text and "24117000000212341234" in text for text in filled)


def test_schema_lists_the_ticket_endpoints(client, setup):
    schema = client.get("/api/schema/", **auth(setup["lead"])).content.decode()
    for path in ("/api/tickets/", "/api/tickets/{id}/replies/", "/api/queues/"):
        assert path in schema


def test_a_refused_patch_changes_nothing(client, setup):
    ta = setup["ta"]
    services.ticket_status_change(ticket=ta, status="resolved")
    response = client.patch(
        f"/api/tickets/{ta.pk}/",
        {"priority": "urgent", "status": "pending"},  # resolved → pending is not allowed
        content_type="application/json",
        **auth(setup["a"]),
    )
    assert response.status_code == 409
    assert Ticket.objects.get(pk=ta.pk).priority == "normal"


def test_an_unknown_assignee_is_a_400_and_changes_nothing(client, setup):
    ta = setup["ta"]
    response = client.patch(
        f"/api/tickets/{ta.pk}/",
        {"assignee": "nobody", "priority": "urgent"},
        content_type="application/json",
        **auth(setup["a"]),
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "unknown_assignee"
    assert "nobody" in error["message"]
    assert error["fields"] == {"assignee": [error["message"]]}
    ticket = Ticket.objects.get(pk=ta.pk)
    assert (ticket.priority, ticket.assignee) == ("normal", None)
    assert not ticket.events.filter(action__in=["assigned", "priority"]).exists()


def test_patch_assigns_and_unassigns_by_username(client, setup):
    ta, headers = setup["ta"], auth(setup["lead"])
    url = f"/api/tickets/{ta.pk}/"
    response = client.patch(
        url, {"assignee": "agent-a"}, content_type="application/json", **headers
    )
    assert response.status_code == 200 and response.json()["assignee"] == "agent-a"
    response = client.patch(url, {"assignee": None}, content_type="application/json", **headers)
    assert response.status_code == 200 and response.json()["assignee"] is None


def test_refusals_keep_the_one_error_format(client, setup):
    ta, headers = setup["ta"], auth(setup["a"])
    services.ticket_status_change(ticket=ta, status="closed")
    response = client.post(
        f"/api/tickets/{ta.pk}/replies/", {"text": "hi"}, content_type="application/json", **headers
    )
    assert response.status_code == 409
    assert response.json() == {
        "error": {"code": "ticket_closed", "message": "工单已关闭，不能回复"}
    }
    response = client.patch(
        f"/api/tickets/{ta.pk}/",
        {"priority": "whenever"},
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert "priority" in response.json()["error"]["fields"]


def test_sla_breached_in_the_list_and_detail(client, setup, breached_a):
    headers = auth(setup["lead"])
    rows = {r["number"]: r for r in client.get("/api/tickets/", **headers).json()["results"]}
    assert rows[setup["ta"].number]["sla_breached"] is True
    assert rows[setup["tb"].number]["sla_breached"] is False
    detail = client.get(f"/api/tickets/{setup['ta'].pk}/", **headers).json()
    assert detail["sla_breached"] is True


@pytest.fixture
def breached_a(setup):
    """Ticket A has its resolution breach recorded (as the SLA check would)."""
    from django.utils import timezone

    Ticket.objects.filter(pk=setup["ta"].pk).update(resolution_breached_at=timezone.now())


def test_agent_reply_query_count(client, setup, django_assert_num_queries):
    ta, headers = setup["ta"], auth(setup["a"])
    url = f"/api/tickets/{ta.pk}/replies/"
    # Warm up: the first reply opens, assigns and first-responds the ticket.
    client.post(url, {"text": "您好"}, content_type="application/json", **headers)
    # A later reply: the token (knox: its row with the user, and its own check), the agent
    # profile, the agent's queue ids, the visible ticket, SAVEPOINT, its row lock, the
    # message INSERT, the ticket UPDATE, the delivery ref UPDATE, RELEASE. The channel's
    # own queries (here none: Locmem) come on top.
    with django_assert_num_queries(11):
        response = client.post(url, {"text": "还在查"}, content_type="application/json", **headers)
    assert response.status_code == 201
