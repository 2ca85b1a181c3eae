"""The ticket figures of a range: created, response and resolution times, SLA met,
satisfaction, agent workload — aggregated by the database.

A range's tickets come from two places: the stored rows (`ReportTicket`, kept by the
refresh task) and the tickets changed since its last run, computed now (`ticket_values`)
so that the figures are live. The stored side is counted and summed in SQL and never
read row by row (a 30-day range holds ~80,000 tickets at a million a year: reading them
as Python rows took 2.9 s, bench/reports/README.md). The few live rows are added in
Python with the same predicates. Percentiles stay exact across both: the nearest rank
of the union is found by reading only the stored values that can hold it (a window as
wide as the live rows, `merged_percentile`).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.contrib.auth import get_user_model
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate

from bot.reports.definitions import day_of, tz
from bot.reports.figures import ticket_values
from bot.reports.models import ReportTicket, Watermark
from tickets.models import Ticket, TicketEvent

# Business-time buckets of response and resolution times: (upper bound in seconds, label).
DURATION_BUCKETS = (
    (15 * 60, "≤15分钟"),
    (30 * 60, "15–30分钟"),
    (3600, "30分钟–1小时"),
    (2 * 3600, "1–2小时"),
    (4 * 3600, "2–4小时"),
    (9 * 3600, "4小时–1个工作日"),
    (18 * 3600, "1–2个工作日"),
    (45 * 3600, "2–5个工作日"),
    (math.inf, ">5个工作日"),
)
DURATIONS = ("first_response_seconds", "resolution_seconds")
WORKLOAD_ROWS = 30


@dataclass(frozen=True)
class TicketSource:
    """One side of a range's tickets (created in it, or rated in it): the stored rows the
    database aggregates, and the rows computed now that Python adds."""

    stored: QuerySet[ReportTicket]
    live: list[dict]


@dataclass(frozen=True)
class TicketSources:
    created: TicketSource
    rated: TicketSource


def tickets_changed_since(at: datetime) -> set[int]:
    """Tickets changed since `at` (and the minute before it, for clock skew): every change
    writes an event, and ratings, which leave `updated_at` alone, write one too."""
    overlap = at - timedelta(minutes=1)
    ids = set(TicketEvent.objects.filter(at__gte=overlap).values_list("ticket_id", flat=True))
    return ids | set(Ticket.objects.filter(updated_at__gte=overlap).values_list("id", flat=True))


def ticket_sources(*, start: datetime, end: datetime, queue_id: int | None) -> TicketSources:
    """The tickets created in [start, end) and those rated in it, of one queue or all."""
    mark = Watermark.objects.filter(name="tickets").values_list("at", flat=True).first()
    tickets = Ticket.objects.all()
    if queue_id is not None:
        tickets = tickets.filter(queue_id=queue_id)
    if mark is None:  # never refreshed: everything is live
        stored = ReportTicket.objects.none()
        live = ticket_values(
            tickets.filter(
                Q(created_at__gte=start, created_at__lt=end)
                | Q(satisfaction_at__gte=start, satisfaction_at__lt=end)
            )
        )
    else:
        changed = tickets_changed_since(mark)
        live = ticket_values(tickets.filter(id__in=changed)) if changed else []
        stored = (
            ReportTicket.objects.exclude(ticket_id__in=changed)
            if changed
            else (ReportTicket.objects.all())
        )
        if queue_id is not None:
            stored = stored.filter(queue_id=queue_id)
    return TicketSources(
        created=TicketSource(
            stored.filter(created_at__gte=start, created_at__lt=end),
            [r for r in live if start <= r["created_at"] < end],
        ),
        rated=TicketSource(
            stored.filter(satisfaction_at__gte=start, satisfaction_at__lt=end),
            [
                r
                for r in live
                if r["satisfaction_at"] is not None and start <= r["satisfaction_at"] < end
            ],
        ),
    )


# -- percentiles and buckets ----------------------------------------------------------
def percentile(values: list[int], share: float) -> int | None:
    """The nearest-rank percentile: the smallest value with `share` of them at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[_rank(share, len(ordered)) - 1]


def _rank(share: float, n: int) -> int:
    return max(math.ceil(share * n), 1)


def merged_percentile(
    stored: QuerySet, name: str, stored_count: int, live: list[int], share: float
) -> int | None:
    """`percentile` of the stored values of `name` (non-null, `stored_count` of them)
    and the `live` values together, reading at most len(live) + 1 stored values.

    The union's value at rank r has i stored values and r − i live ones at or below it,
    so it lies among the stored ranks r − len(live) … r: the stored values below that
    window are all at or below it and only shift the rank.
    """
    n = stored_count + len(live)
    if not n:
        return None
    rank = _rank(share, n)
    low, high = max(rank - len(live), 1), min(rank, stored_count)
    window = []
    if high >= low:
        window = list(
            stored.filter(**{f"{name}__isnull": False})
            .order_by(name)
            .values_list(name, flat=True)[low - 1 : high]
        )
    else:
        low = 1  # nothing stored below the rank: the union is the live values
    return sorted(window + live)[rank - low]


def _bucket_filters(name: str) -> dict[str, Count]:
    out = {}
    lower = -1
    for n, (upper, _) in enumerate(DURATION_BUCKETS):
        within = Q(**{f"{name}__gt": lower})
        if upper != math.inf:
            within &= Q(**{f"{name}__lte": upper})
        out[f"{name}__{n}"] = Count("pk", filter=within)
        lower = upper
    return out


def _bucket_of(value: int) -> int:
    for n, (upper, _) in enumerate(DURATION_BUCKETS):
        if value <= upper:
            return n
    return len(DURATION_BUCKETS) - 1


def duration_histogram(counts: list[int]) -> list[dict]:
    return [
        {"label": label, "count": c} for (_, label), c in zip(DURATION_BUCKETS, counts, strict=True)
    ]


# -- the figures ----------------------------------------------------------------------
@dataclass
class Durations:
    """One duration's figures: how many, p50 / p90, and the count per bucket."""

    count: int
    p50: int | None
    p90: int | None
    buckets: list[int]

    @property
    def histogram(self) -> list[dict]:
        return duration_histogram(self.buckets)


@dataclass
class TicketFigures:
    created: int = 0
    created_by_day: Counter = field(default_factory=Counter)
    first_response: Durations | None = None
    resolution: Durations | None = None
    sla_met: int = 0
    sla_decided: int = 0
    # rated in the range: responses and score sums per day, responses per score (1–5)
    csat_by_day: dict[date, list[int]] = field(default_factory=dict)
    csat_distribution: list[int] = field(default_factory=lambda: [0] * 5)
    workload: list[dict] = field(default_factory=list)

    @property
    def csat_responses(self) -> int:
        return sum(self.csat_distribution)

    @property
    def csat_average(self) -> float | None:
        total = sum(score * n for score, n in zip(range(1, 6), self.csat_distribution, strict=True))
        return round(total / self.csat_responses, 2) if self.csat_responses else None


def _created_figures(source: TicketSource, figures: TicketFigures, *, detail: bool) -> None:
    aggregates = {
        "tickets": Count("pk"),
        "sla_met": Count("pk", filter=Q(first_response_met=True)),
        "sla_decided": Count("pk", filter=Q(first_response_met__isnull=False)),
        **{f"{name}__count": Count(name) for name in DURATIONS},
    }
    if detail:
        for name in DURATIONS:
            aggregates.update(_bucket_filters(name))
    stored = source.stored.aggregate(**aggregates)
    live = source.live
    figures.created = stored["tickets"] + len(live)
    figures.sla_met = stored["sla_met"] + sum(r["first_response_met"] is True for r in live)
    figures.sla_decided = stored["sla_decided"] + sum(
        r["first_response_met"] is not None for r in live
    )
    for name in DURATIONS:
        values = [r[name] for r in live if r[name] is not None]
        buckets = [stored.get(f"{name}__{n}", 0) for n in range(len(DURATION_BUCKETS))]
        for value in values:
            buckets[_bucket_of(value)] += 1
        durations = Durations(
            count=stored[f"{name}__count"] + len(values),
            p50=merged_percentile(source.stored, name, stored[f"{name}__count"], values, 0.5),
            p90=(
                merged_percentile(source.stored, name, stored[f"{name}__count"], values, 0.9)
                if detail
                else None
            ),
            buckets=buckets,
        )
        setattr(figures, name.removesuffix("_seconds"), durations)
    if detail:
        by_day = (
            source.stored.annotate(day=TruncDate("created_at", tzinfo=tz()))
            .values("day")
            .annotate(n=Count("pk"))
            .order_by()
        )
        figures.created_by_day.update({row["day"]: row["n"] for row in by_day})
        figures.created_by_day.update(day_of(r["created_at"]) for r in live)


def _rated_figures(source: TicketSource, figures: TicketFigures) -> None:
    by_day: dict[date, list[int]] = defaultdict(lambda: [0, 0])  # [responses, score sum]
    rows = (
        source.stored.filter(satisfaction__isnull=False)
        .annotate(day=TruncDate("satisfaction_at", tzinfo=tz()))
        .values("day", "satisfaction")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counted = [(row["day"], row["satisfaction"], row["n"]) for row in rows]
    counted += [
        (day_of(r["satisfaction_at"]), r["satisfaction"], 1)
        for r in source.live
        if r["satisfaction"] is not None
    ]
    for day, score, n in counted:
        by_day[day][0] += n
        by_day[day][1] += score * n
        figures.csat_distribution[score - 1] += n
    figures.csat_by_day = dict(by_day)


def _workload(source: TicketSource, queue_id: int | None) -> list[dict]:
    """Per agent: open tickets now, and of the range's tickets the assigned, the resolved
    and their median resolution time."""
    active = Ticket.objects.filter(
        status__in=Ticket.ACTIVE_STATUSES, merged_into__isnull=True, assignee__isnull=False
    )
    if queue_id is not None:
        active = active.filter(queue_id=queue_id)
    open_now = dict(
        active.values("assignee_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("assignee_id", "n")
    )
    assigned: Counter = Counter(
        dict(
            source.stored.filter(assignee_id__isnull=False)
            .values("assignee_id")
            .annotate(n=Count("pk"))
            .order_by()
            .values_list("assignee_id", "n")
        )
    )
    resolved: dict[int, list[int]] = defaultdict(list)
    # Two integers per resolved ticket, the only per-row read: the agents' medians.
    for pk, seconds in source.stored.filter(
        assignee_id__isnull=False, resolution_seconds__isnull=False
    ).values_list("assignee_id", "resolution_seconds"):
        resolved[pk].append(seconds)
    for row in source.live:
        if row["assignee_id"] is None:
            continue
        assigned[row["assignee_id"]] += 1
        if row["resolution_seconds"] is not None:
            resolved[row["assignee_id"]].append(row["resolution_seconds"])
    ids = set(open_now) | set(assigned)
    names = {
        u.pk: (u.get_full_name() or u.get_username())
        for u in get_user_model().objects.filter(pk__in=ids)
    }
    rows = [
        {
            "agent": names.get(pk, str(pk)),
            "open": open_now.get(pk, 0),
            "assigned": assigned.get(pk, 0),
            "resolved": len(resolved.get(pk, [])),
            "resolution_p50_seconds": percentile(resolved.get(pk, []), 0.5),
        }
        for pk in ids
    ]
    return sorted(rows, key=lambda r: (-r["open"], -r["assigned"], r["agent"]))[:WORKLOAD_ROWS]


def ticket_figures(
    *, start: datetime, end: datetime, queue_id: int | None, detail: bool
) -> TicketFigures:
    """The ticket figures of a range; `detail` adds what only the dashboard draws
    (p90s, buckets, tickets per day, workload)."""
    sources = ticket_sources(start=start, end=end, queue_id=queue_id)
    figures = TicketFigures()
    _created_figures(sources.created, figures, detail=detail)
    _rated_figures(sources.rated, figures)
    if detail:
        figures.workload = _workload(sources.created, queue_id)
    return figures
