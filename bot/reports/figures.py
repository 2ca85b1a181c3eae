"""Additive figures: what a built window adds up to per (day, queue), and ticket rows.

`DayFigures` are what `DailyRollup` stores; summing them over days and queues gives
any range's conversation figures. Ticket figures are per ticket (`ticket_values`):
percentiles need the values, not sums.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from bot.reports.building import Built
from bot.reports.definitions import day_of, tz
from tickets import business_hours
from tickets.models import Holiday, Ticket

ADDITIVE = (
    "conversations",
    "messages_in",
    "bot_answered",
    "escalated",
    "contained",
    "unanswered",
    "rated_useless",
)


@dataclass
class DayFigures:
    conversations: int = 0
    messages_in: int = 0
    bot_answered: int = 0
    escalated: int = 0
    contained: int = 0
    unanswered: int = 0
    rated_useless: int = 0
    intents: Counter = field(default_factory=Counter)
    hours: list[int] = field(default_factory=lambda: [0] * 24)

    def add(self, other: DayFigures) -> None:
        for name in ADDITIVE:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.intents.update(other.intents)
        self.hours = [a + b for a, b in zip(self.hours, other.hours, strict=True)]

    @classmethod
    def from_rollup(cls, row) -> DayFigures:
        hours = list(row.hours) if row.hours else [0] * 24
        return cls(
            **{name: getattr(row, name) for name in ADDITIVE},
            intents=Counter(row.intents or {}),
            hours=hours,
        )


def figures_from_built(built: Built) -> dict[tuple[date, int | None], DayFigures]:
    """The figures of each (day, queue) of a built window."""
    out: dict[tuple[date, int | None], DayFigures] = {}
    for conversation in built.conversations:
        figures = out.setdefault(
            (day_of(conversation.started_at), conversation.queue_id), DayFigures()
        )
        figures.conversations += 1
        figures.bot_answered += conversation.bot_answered
        figures.escalated += conversation.escalated
        figures.contained += conversation.contained
        figures.unanswered += conversation.unanswered
        figures.rated_useless += conversation.rated_useless
    zone = tz()
    for at, queue, intent in built.messages:
        local = at.astimezone(zone)
        figures = out.setdefault((local.date(), queue), DayFigures())
        figures.messages_in += 1
        figures.hours[local.hour] += 1
        if intent:
            figures.intents[intent] += 1
    return out


# -- invoice checks -------------------------------------------------------------------
CHECK_DIMENSIONS = ("result", "diagnosis", "region", "issuer")


def check_counts(rows) -> list[dict]:
    """(day, result, diagnosis, region, issuer) → n as one row per day, dimension and value."""
    counted: Counter = Counter()
    for (day, *values), n in rows:
        for dimension, value in zip(CHECK_DIMENSIONS, values, strict=True):
            counted[(day, dimension, value or "")] += n
    return [
        {"day": day, "dimension": dimension, "value": value, "count": n}
        for (day, dimension, value), n in counted.items()
    ]


# -- tickets --------------------------------------------------------------------------
TICKET_FIELDS = (
    "id",
    "queue_id",
    "assignee_id",
    "status",
    "created_at",
    "first_response_at",
    "resolved_at",
    "first_response_breached_at",
    "satisfaction",
    "satisfaction_at",
    "merged_into_id",
)


class BusinessClock:
    """Business time between two moments, for many tickets at once.

    The same arithmetic as `tickets.business_hours.business_minutes_between` (the
    desk's schedule and holidays, whole minutes), with the holidays read once and a
    running total per day, so a million tickets cost a million subtractions rather
    than a million calendar walks (tests/bot/reports/test_figures.py compares both).
    """

    def __init__(self, first: date, last: date) -> None:
        sched = business_hours.schedule()
        self.tz, self.first = sched.tz, first
        overrides = dict(
            Holiday.objects.filter(date__gte=first, date__lte=last).values_list(
                "date", "is_workday"
            )
        )
        self.windows: list[tuple[datetime, datetime] | None] = []
        self.before: list[timedelta] = []
        total = timedelta()
        for n in range((last - first).days + 1):
            day = first + timedelta(days=n)
            self.before.append(total)
            if overrides.get(day, day.weekday() in sched.weekdays):
                opens = datetime.combine(day, sched.start, tzinfo=sched.tz)
                closes = datetime.combine(day, sched.end, tzinfo=sched.tz)
                self.windows.append((opens, closes))
                total += closes - opens
            else:
                self.windows.append(None)

    def _until(self, moment: datetime) -> timedelta:
        local = moment.astimezone(self.tz)
        n = (local.date() - self.first).days
        if n < 0 or n >= len(self.windows):
            raise ValueError("moment outside the clock's days")
        window = self.windows[n]
        done = self.before[n]
        if window is not None:
            done += min(max(local, window[0]), window[1]) - window[0]
        return done

    def seconds_between(self, start: datetime | None, end: datetime | None) -> int | None:
        if start is None or end is None:
            return None
        if end <= start:
            return 0
        minutes = int((self._until(end) - self._until(start)).total_seconds() // 60)
        return minutes * 60


def ticket_values(tickets: QuerySet[Ticket]) -> list[dict]:
    """The reports' row of each ticket (merged duplicates left out): business-time durations."""
    now = timezone.now()
    found = list(tickets.filter(merged_into__isnull=True).values(*TICKET_FIELDS))
    if not found:
        return []
    moments = [
        t[name]
        for t in found
        for name in ("created_at", "first_response_at", "resolved_at")
        if t[name]
    ]
    clock = BusinessClock(
        min(moments).astimezone(tz()).date() - timedelta(days=1),
        max(moments).astimezone(tz()).date() + timedelta(days=1),
    )
    out = []
    for t in found:
        if t["first_response_breached_at"] is not None:
            met = False
        elif t["first_response_at"] is not None:
            met = True
        else:
            met = None
        out.append(
            {
                "ticket_id": t["id"],
                "queue_id": t["queue_id"],
                "assignee_id": t["assignee_id"],
                "status": t["status"],
                "created_at": t["created_at"],
                "resolved_at": t["resolved_at"],
                "first_response_seconds": clock.seconds_between(
                    t["created_at"], t["first_response_at"]
                ),
                "resolution_seconds": clock.seconds_between(t["created_at"], t["resolved_at"]),
                "first_response_met": met,
                "satisfaction": t["satisfaction"],
                "satisfaction_at": t["satisfaction_at"],
                "computed_at": now,
            }
        )
    return out
