"""The ticket figures the database aggregates agree with the same figures counted row by
row, whatever mix of stored rows and live (changed since the refresh) rows a range holds."""

import random
from collections import Counter
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from bot.reports import services
from bot.reports.definitions import day_of
from bot.reports.figures import ticket_values
from bot.reports.models import ReportTicket, Watermark
from bot.reports.ticket_figures import (
    DURATION_BUCKETS,
    merged_percentile,
    percentile,
    ticket_figures,
    ticket_sources,
)
from tickets import services as ticket_services
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def _tickets(rng: random.Random, n: int) -> list[int]:
    """n tickets with random times, assignees, ratings; returns their ids."""
    agents = [
        get_user_model().objects.create_user(username=f"agent-{k}", is_staff=True).pk
        for k in range(3)
    ]
    base = timezone.now() - timedelta(days=12)
    ids = []
    for k in range(n):
        ticket = ticket_services.ticket_escalate(
            requester_ref=f"o-{k}",
            requester_name="张三",
            category="invoice_not_found",
            reason="asked",
            text="发票查不到",
        ).ticket
        created = base + timedelta(minutes=rng.randrange(60 * 24 * 8))
        fields = {"created_at": created, "assignee_id": rng.choice([None, *agents])}
        if rng.random() < 0.8:
            fields["first_response_at"] = created + timedelta(minutes=rng.randrange(1, 3000))
        if rng.random() < 0.2:
            fields["first_response_breached_at"] = created + timedelta(hours=1)
        if rng.random() < 0.6:
            fields["resolved_at"] = created + timedelta(minutes=rng.randrange(30, 9000))
        if rng.random() < 0.5:
            fields["satisfaction"] = rng.randint(1, 5)
            fields["satisfaction_at"] = created + timedelta(hours=rng.randrange(1, 72))
        Ticket.objects.filter(pk=ticket.pk).update(**fields)
        ids.append(ticket.pk)
    return ids


def _stored_then_changed(rng: random.Random, ids: list[int], share: float) -> None:
    """Store every ticket's row, then change `share` of the tickets after the refresh."""
    services.reports_tickets_refresh(full=True)
    later = timezone.now() + timedelta(minutes=10)
    Watermark.objects.filter(name="tickets").update(at=later)
    for pk in rng.sample(ids, int(len(ids) * share)):
        ticket = Ticket.objects.get(pk=pk)
        Ticket.objects.filter(pk=pk).update(
            updated_at=later + timedelta(minutes=5),
            resolved_at=ticket.created_at + timedelta(minutes=rng.randrange(30, 9000)),
            satisfaction=rng.randint(1, 5),
            satisfaction_at=ticket.created_at + timedelta(hours=rng.randrange(1, 72)),
        )


def _expected(start, end) -> dict:
    """The figures counted over every ticket's row computed now (no stored rows)."""
    rows = ticket_values(Ticket.objects.all())
    created = [r for r in rows if start <= r["created_at"] < end]
    rated = [
        r for r in rows if r["satisfaction_at"] is not None and start <= r["satisfaction_at"] < end
    ]
    out = {"created": len(created), "by_day": Counter(day_of(r["created_at"]) for r in created)}
    for name in ("first_response_seconds", "resolution_seconds"):
        values = [r[name] for r in created if r[name] is not None]
        buckets = [0] * len(DURATION_BUCKETS)
        for value in values:
            buckets[next(n for n, (up, _) in enumerate(DURATION_BUCKETS) if value <= up)] += 1
        out[name] = (len(values), percentile(values, 0.5), percentile(values, 0.9), buckets)
    decided = [r["first_response_met"] for r in created if r["first_response_met"] is not None]
    out["sla"] = (sum(decided), len(decided))
    out["csat"] = [sum(r["satisfaction"] == s for r in rated) for s in range(1, 6)]
    resolved = Counter(
        r["assignee_id"]
        for r in created
        if r["assignee_id"] and r["resolution_seconds"] is not None
    )
    out["resolved_by_agent"] = dict(resolved)
    return out


@pytest.mark.parametrize(("seed", "changed"), [(1, 0.0), (2, 0.15), (3, 0.5)])
def test_the_figures_are_those_counted_row_by_row(seed, changed):
    rng = random.Random(seed)
    ids = _tickets(rng, 60)
    _stored_then_changed(rng, ids, changed)
    now = timezone.now()
    start, end = now - timedelta(days=10), now - timedelta(days=6)
    sources = ticket_sources(start=start, end=end, queue_id=None)
    assert sources.created.stored.exists()  # both sides are in play
    assert bool(sources.created.live) == (changed > 0)

    found = ticket_figures(start=start, end=end, queue_id=None, detail=True)
    expected = _expected(start, end)
    assert found.created == expected["created"] > 0
    assert dict(found.created_by_day) == dict(expected["by_day"])
    for name, durations in (
        ("first_response_seconds", found.first_response),
        ("resolution_seconds", found.resolution),
    ):
        got = (durations.count, durations.p50, durations.p90, durations.buckets)
        assert got == expected[name], name
    assert (found.sla_met, found.sla_decided) == expected["sla"]
    assert found.csat_distribution == expected["csat"]
    by_agent = {
        get_user_model().objects.get(username=row["agent"]).pk: row["resolved"]
        for row in found.workload
        if row["resolved"]
    }
    assert by_agent == expected["resolved_by_agent"]


def test_merged_percentile_is_the_percentile_of_the_union():
    rng = random.Random(11)
    ids = _tickets(rng, 40)
    services.reports_tickets_refresh(full=True)
    stored = ReportTicket.objects.filter(ticket_id__in=ids)
    values = list(
        stored.filter(resolution_seconds__isnull=False).values_list("resolution_seconds", flat=True)
    )
    assert len(values) > 10
    for _ in range(200):
        live = [rng.randrange(0, 200_000) for _ in range(rng.randrange(0, 15))]
        share = rng.choice([0.01, 0.1, 0.5, 0.9, 0.99, 1.0])
        assert merged_percentile(
            stored, "resolution_seconds", len(values), live, share
        ) == percentile(values + live, share), (live, share)
    assert merged_percentile(stored.none(), "resolution_seconds", 0, [], 0.5) is None
