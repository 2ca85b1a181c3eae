"""Audit #14 through the URLs: broadcasts and ledger writes for supervisors, scoped reads."""

import pytest

from bot.conversations.models import Follower, Message
from bot.invoices.models import LedgerInvoice
from bot.notices.models import Broadcast, Notice
from tests.security.people import auth, people_make

pytestmark = pytest.mark.django_db

PHISHING = {"text": "您的发票异常，请点击链接处理", "audience": "all"}
LEDGER_ROW = {
    "invoice_code": "",
    "invoice_number": "24312000000012345678",
    "issue_date": "2026-11-01",
    "amount": "100.00",
    "total": "106.00",
}


@pytest.fixture
def people():
    return people_make()


@pytest.mark.parametrize("caller", ["staff", "agent_a", "agent_b", "non_staff"])
def test_only_supervisors_broadcast(client, people, caller, fake_wechat):
    response = client.post(
        "/api/broadcasts/", PHISHING, content_type="application/json", **auth(people.users[caller])
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert not Broadcast.objects.exists() and not Notice.objects.exists()


def test_supervisor_broadcasts(client, people, fake_wechat):
    response = client.post(
        "/api/broadcasts/",
        {"text": "今晚维护", "audience": "all"},
        content_type="application/json",
        **auth(people.users["supervisor"]),
    )
    assert response.status_code == 201, response.content
    assert response.json()["unknown"] == 0


@pytest.mark.parametrize("caller", ["staff", "agent_a", "agent_b"])
def test_only_supervisors_write_the_ledger(client, people, caller):
    headers = auth(people.users[caller])
    created = client.post(
        "/api/invoices/ledger/", LEDGER_ROW, content_type="application/json", **headers
    )
    assert created.status_code == 403
    assert not LedgerInvoice.objects.exists()


def test_agents_read_the_ledger_and_supervisors_write_it(client, people):
    lead = auth(people.users["supervisor"])
    created = client.post(
        "/api/invoices/ledger/", LEDGER_ROW, content_type="application/json", **lead
    )
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    agent = auth(people.users["agent_a"])
    assert client.get("/api/invoices/ledger/", **agent).status_code == 200
    assert client.get(f"/api/invoices/ledger/{pk}/", **agent).status_code == 200
    patched = client.patch(
        f"/api/invoices/ledger/{pk}/", {"amount": "1.00"}, content_type="application/json", **agent
    )
    assert patched.status_code == 403
    assert client.get("/api/invoices/ledger/", **auth(people.users["staff"])).status_code == 403


def test_followers_are_scoped_to_the_agents_tickets(client, people):
    for follower, text in ((people.follower_a, "A"), (people.follower_b, "B")):
        Message.objects.create(
            follower=follower, direction="in", msg_type="text", text=text, dedup_key=text
        )
    Follower.objects.create(openid="o-no-ticket", subscribed=True)

    def openids(caller):
        body = client.get("/api/followers/", **auth(people.users[caller])).json()
        return {f["openid"] for f in body["results"]}

    assert openids("agent_a") == {"o-queue-a"}
    assert openids("agent_b") == {"o-queue-b"}
    assert openids("supervisor") == {"o-queue-a", "o-queue-b", "o-no-ticket"}
    assert client.get("/api/followers/", **auth(people.users["staff"])).status_code == 403
    # Search cannot reach past the scope either.
    search = client.get("/api/followers/?search=o-queue-b", **auth(people.users["agent_a"]))
    assert search.json()["results"] == []

    a_reads_b = client.get("/api/followers/o-queue-b/messages/", **auth(people.users["agent_a"]))
    assert a_reads_b.status_code == 404  # like a follower that does not exist
    a_reads_a = client.get("/api/followers/o-queue-a/messages/", **auth(people.users["agent_a"]))
    assert [m["text"] for m in a_reads_a.json()["results"]] == ["A"]
    lead_reads_b = client.get(
        "/api/followers/o-queue-b/messages/", **auth(people.users["supervisor"])
    )
    assert [m["text"] for m in lead_reads_b.json()["results"]] == ["B"]


def test_schema_and_docs_are_for_staff_only(client, people):
    for url in ("/api/schema/", "/api/docs/"):
        assert client.get(url).status_code == 401
        assert client.get(url, **auth(people.users["non_staff"])).status_code == 403
        assert client.get(url, **auth(people.users["staff"])).status_code == 200
    docs = client.get("/api/docs/", **auth(people.users["staff"])).content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in docs
    assert "cdn.jsdelivr.net" not in docs


@pytest.mark.parametrize(
    "query",
    ["?search=%00", "?search=a%00b", "?subscribed=%00", "?%00=1", "?number=%00x"],
)
def test_nul_bytes_in_query_parameters_are_a_400(client, people, query):
    headers = auth(people.users["supervisor"])
    for path in ("/api/followers/", "/api/invoices/ledger/", "/api/tickets/"):
        response = client.get(path + query, **headers)
        assert response.status_code == 400, (path, query)
        assert response.json()["error"]["code"] == "invalid"


def test_broadcast_with_an_unknown_incident_is_a_400(client, people, fake_wechat):
    lead = auth(people.users["supervisor"])
    for incident in (999999, 2**70, -1, "x"):
        response = client.post(
            "/api/broadcasts/",
            {"text": "故障更新", "audience": "all", "incident": incident},
            content_type="application/json",
            **lead,
        )
        assert response.status_code == 400, (incident, response.content)
    assert not Broadcast.objects.exists()


def _grant(user, *codenames):
    from django.contrib.auth.models import Permission

    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))


def test_ledger_admin_is_read_only_for_agents_even_with_a_granted_permission(client, people):
    from bot.invoices.models import LedgerInvoice

    row = LedgerInvoice.objects.create(
        invoice_number="24312000000099999999", issue_date="2026-11-01", amount="1", total="1"
    )
    agent = people.users["agent_a"]
    _grant(agent, "view_ledgerinvoice", "add_ledgerinvoice", "change_ledgerinvoice")
    client.force_login(agent)
    assert client.get("/admin/invoices/ledgerinvoice/").status_code == 200
    assert client.get("/admin/invoices/ledgerinvoice/add/").status_code == 403
    marked = client.post(
        "/admin/invoices/ledgerinvoice/",
        {"action": "mark_uploaded", "_selected_action": [row.pk]},
    )
    row.refresh_from_db()
    assert row.uploaded_at is None, marked.status_code


def test_supervisor_pages_refuse_a_hand_granted_agent(client, people):
    agent = people.users["agent_a"]
    _grant(agent, "view_broadcast", "add_broadcast", "view_faqentry", "view_incident")
    client.force_login(agent)
    for url in (
        "/admin/notices/broadcast/",
        "/admin/notices/broadcast/add/",
        "/admin/notices/incident/",
        "/admin/nlu/faqentry/",
        "/admin/nlu/faqentry/console/",
    ):
        assert client.get(url).status_code == 403, url
