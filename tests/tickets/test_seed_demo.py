"""`manage.py seed_demo`: bulk demo tickets with conversations, audit trail and invoices.

Runs on both database modes: COPY on PostgreSQL, bulk_create on SQLite.
"""

import io
import re
from collections import Counter

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from tickets import business_hours
from tickets.models import (
    AgentProfile,
    SlaTarget,
    Ticket,
    TicketCounter,
    TicketEvent,
    TicketInvoiceNumber,
    TicketMessage,
)

pytestmark = pytest.mark.django_db

CJK = re.compile(r"[\u4e00-\u9fff]")
N = 400


@pytest.fixture
def seeded():
    out = io.StringIO()
    call_command("seed_demo", tickets=N, messages=10, batch=90, days=12, verbosity=0, stdout=out)
    return out.getvalue()


def test_counts_and_summary(seeded):
    assert Ticket.objects.count() == N
    assert TicketMessage.objects.count() == N * 10
    assert TicketMessage.objects.values("ticket").annotate(n=Count("id")).filter(n=10).count() == N
    events = TicketEvent.objects.count()
    assert events >= N * 2
    assert f"{N} tickets, {N * 10} messages, {events} events" in seeded


def test_runs_again_with_own_numbers_and_leaves_real_numbering_alone(seeded):
    call_command("seed_demo", tickets=7, messages=3, verbosity=0)
    assert Ticket.objects.count() == N + 7
    assert TicketMessage.objects.count() == N * 10 + 7 * 3
    numbers = list(Ticket.objects.values_list("number", flat=True))
    assert len(set(numbers)) == len(numbers)
    assert all(re.fullmatch(r"D\d{8}-\d{7}", n) for n in numbers)
    assert not TicketCounter.objects.exists()
    if connection.vendor == "postgresql":  # the sequence moved past the COPYed ids
        ticket = Ticket.objects.create(
            number="T20990101-0001",
            requester_ref="o-real",
            queue_id=Ticket.objects.first().queue_id,
            subject="x",
            created_at=timezone.now(),
            updated_at=timezone.now(),
        )
        assert ticket.pk > max(Ticket.objects.exclude(pk=ticket.pk).values_list("pk", flat=True))


def test_distributions_are_varied(seeded):
    tickets = list(Ticket.objects.all())
    statuses = Counter(t.status for t in tickets)
    assert set(statuses) == {"new", "open", "pending", "resolved", "closed"}
    assert statuses["closed"] > statuses["new"]
    assert len({t.queue_id for t in tickets}) == 3
    assert len({t.category for t in tickets}) >= 10
    assert len({t.priority for t in tickets}) == 4
    assert len({t.assignee_id for t in tickets if t.assignee_id}) >= 6
    assert len({t.requester_name for t in tickets}) > 50
    rated = [t.satisfaction for t in tickets if t.satisfaction]
    assert len(set(rated)) >= 4
    breached = [t for t in tickets if t.first_response_breached_at or t.resolution_breached_at]
    assert 0 < len(breached) < N / 2
    assert sum(bool(t.tags) for t in tickets) > 10
    by_requester = Counter(t.requester_ref for t in tickets)
    assert max(by_requester.values()) > 1  # some people come back
    assert all(re.fullmatch(r"oDEMO[\w-]{23}", ref) for ref in by_requester)
    assert all(CJK.search(t.subject) for t in tickets)


def test_lifecycle_is_consistent(seeded):
    now = timezone.now()
    for t in Ticket.objects.all():
        assert t.created_at <= t.updated_at <= now
        assert (t.first_response_at is None) == (t.status == "new")
        if t.first_response_at:
            assert t.created_at <= t.first_response_at <= now
            assert t.assignee_id is not None
        assert (t.resolved_at is not None) == (t.status in ("resolved", "closed"))
        assert (t.closed_at is not None) == (t.status == "closed")
        if t.resolved_at:
            assert t.first_response_at <= t.resolved_at <= now
        if t.closed_at:
            assert t.resolved_at < t.closed_at <= now
        if t.satisfaction is not None:
            assert 1 <= t.satisfaction <= 5 and t.resolved_at < t.satisfaction_at <= now
        if t.first_response_breached_at:
            assert t.first_response_breached_at == t.first_response_due
        assert t.first_response_due <= t.resolution_due
        assert (t.sla_paused_at is not None) == (t.status in ("pending", "resolved", "closed"))
    active = Ticket.objects.filter(status__in=Ticket.ACTIVE_STATUSES)
    assert active.values("requester_ref").distinct().count() == active.count()


def test_sla_dues_follow_the_queue_targets_in_business_hours(seeded):
    targets = {(t.queue_id, t.priority): t for t in SlaTarget.objects.all()}
    for t in Ticket.objects.order_by("id")[:: N // 40]:
        target = targets[(t.queue_id, t.priority)]
        for due, minutes in (
            (t.first_response_due, target.first_response_minutes),
            (t.resolution_due, target.resolution_minutes),
        ):
            expected = business_hours.add_business_minutes(t.created_at, minutes)
            assert abs((due - expected).total_seconds()) < 1


def test_conversation_in_order_with_agents_only_after_a_human_answered(seeded):
    for t in Ticket.objects.order_by("id")[:: N // 40]:
        msgs = list(t.messages.order_by("created_at", "id"))
        assert [m.created_at for m in msgs] == sorted(m.created_at for m in msgs)
        assert msgs[0].author_kind == "user" and all(CJK.search(m.text) for m in msgs[1:4])
        assert any(m.author_kind == "bot" and t.number in m.text for m in msgs)
        human = [m for m in msgs if m.author_kind in ("agent", "note")]
        if t.first_response_at is None:
            assert not human
        else:
            assert human and all(m.author_id == t.assignee_id for m in human)
            assert min(m.created_at for m in human) >= t.first_response_at
        users = [m.created_at for m in msgs if m.author_kind == "user"]
        assert t.last_requester_message_at == max(users)


def test_invoices_snapshot_and_search_index(seeded):
    tokens = 0
    for t in Ticket.objects.exclude(invoice_numbers=""):
        numbers = t.invoice_numbers.split()
        tokens += len(numbers)
        assert numbers == [inv["number"] for inv in t.invoices]
        for inv in t.invoices:
            assert re.fullmatch(r"\d{20}|\d{8}", inv["number"])
            assert {"kind", "date", "amount", "result", "diagnosis", "history"} <= set(inv)
        refs = set(TicketInvoiceNumber.objects.filter(ticket=t).values_list("number", flat=True))
        assert refs == set(numbers)
    assert tokens == TicketInvoiceNumber.objects.count() > N / 2


def test_audit_trail_and_demo_agents(seeded):
    created = TicketEvent.objects.filter(action="created")
    assert created.count() == N
    assert set(created.values_list("to_value", flat=True)) == {"verify", "issuing", "complaint"}
    closed = Ticket.objects.filter(status="closed")
    assert TicketEvent.objects.filter(action="status", to_value="closed").count() == closed.count()
    # Demo agents never take real tickets from the round robin.
    demo = AgentProfile.objects.filter(user__username__startswith="demo-")
    assert demo.count() == 13 and not demo.filter(on_duty=True).exists()


def test_seeded_tickets_work_in_admin_and_api(seeded, client, make_agent):
    lead = make_agent(supervisor=True)
    client.force_login(lead)
    ticket = Ticket.objects.exclude(invoice_numbers="").filter(status="open").first()
    page = client.get("/admin/tickets/ticket/", {"q": ticket.invoice_numbers.split()[0]})
    assert page.status_code == 200 and ticket.number in page.content.decode()
    page = client.get(f"/admin/tickets/ticket/{ticket.pk}/change/")
    assert page.status_code == 200 and ticket.subject in page.content.decode()
    data = client.get(f"/api/tickets/{ticket.pk}/").json()
    assert data["number"] == ticket.number and len(data["messages"]) == 10


def test_rejects_nonsense_arguments(db):
    with pytest.raises(CommandError):
        call_command("seed_demo", tickets=5, messages=0, verbosity=0)
