"""Reads of the reports: a range's figures from the rollups, today's (and any day not
built yet) from the rows themselves, and the rows behind every figure (drill-down).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.db.models.functions import ExtractHour
from django.utils import timezone

from bot.conversations.models import Message
from bot.feedback.selectors import rating_counts_by_entry
from bot.invoices.models import VerificationRecord
from bot.notices.models import Incident
from bot.reports.building import Conversation, build
from bot.reports.definitions import day_of, day_start, days_between, tz
from bot.reports.errors import ReportError, ReportErrorCode
from bot.reports.figures import DayFigures, check_counts, figures_from_built
from bot.reports.labels import labels
from bot.reports.models import (
    AlarmEpisode,
    DailyChecks,
    DailyRollup,
    ReportConversation,
    RollupDay,
)
from bot.reports.outcomes import TurnClassifier
from bot.reports.ticket_figures import TicketFigures, ticket_figures, ticket_sources
from tickets.models import Queue, Ticket

DEFAULT_DAYS = 30
TOP_INTENTS = 10


# -- the range ------------------------------------------------------------------------
@dataclass(frozen=True)
class ReportRange:
    """Local days from start to end (both included), and a queue (None: every queue)."""

    start_day: date
    end_day: date
    queue: Queue | None = None

    @property
    def start(self) -> datetime:
        return day_start(self.start_day)

    @property
    def end(self) -> datetime:
        return day_start(self.end_day + timedelta(days=1))

    @property
    def queue_id(self) -> int | None:
        return self.queue.pk if self.queue is not None else None

    @property
    def days(self) -> list[date]:
        return days_between(self.start_day, self.end_day)


def _date(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ReportError(
            ReportErrorCode.INVALID_DATE, "日期格式应为 YYYY-MM-DD", field=field
        ) from None


def report_range(
    *, start: str = "", end: str = "", queue: str = "", now: datetime | None = None
) -> ReportRange:
    """Read a range from the query (default: the last 30 days up to today)."""
    today = day_of(now or timezone.now())
    end_day = _date(end, "end") if end else today
    start_day = _date(start, "start") if start else end_day - timedelta(days=DEFAULT_DAYS - 1)
    if start_day > end_day:
        raise ReportError(ReportErrorCode.RANGE_REVERSED, "开始日期晚于结束日期", field="start")
    longest = int(getattr(settings, "REPORTS_MAX_RANGE_DAYS", 366))
    if (end_day - start_day).days + 1 > longest:
        raise ReportError(
            ReportErrorCode.RANGE_TOO_LONG, f"日期范围最多 {longest} 天", field="start"
        )
    found = None
    if queue:
        found = Queue.objects.filter(slug=queue).first()
        if found is None:
            raise ReportError(ReportErrorCode.UNKNOWN_QUEUE, "队列不存在", field="queue")
    return ReportRange(start_day, end_day, found)


def rows_since(model, since: datetime):
    """Rows of a model created since `since`, bounded by id (ids grow with time).

    For tables without an index on created_at (verification records): the boundary
    is found by walking the primary key back from the newest row, which reads just
    the rows after `since`.
    """
    before = (
        model.objects.filter(created_at__lt=since).order_by("-id").values_list("id", flat=True)[:1]
    )
    boundary = next(iter(before), 0)
    return model.objects.filter(id__gt=boundary, created_at__gte=since)


# -- conversations --------------------------------------------------------------------
def _spans(days: list[date]) -> list[tuple[date, date]]:
    spans: list[tuple[date, date]] = []
    for day in days:
        if spans and spans[-1][1] + timedelta(days=1) == day:
            spans[-1] = (spans[-1][0], day)
        else:
            spans.append((day, day))
    return spans


def built_days(rng: ReportRange, today: date) -> set[date]:
    return set(
        RollupDay.objects.filter(
            day__gte=rng.start_day, day__lte=min(rng.end_day, today - timedelta(days=1))
        ).values_list("day", flat=True)
    )


@dataclass
class LiveSpans:
    """What the range needs built on the fly: today, and days not built yet."""

    spans: list[tuple[datetime, datetime]]

    def built(self, classifier: TurnClassifier | None = None):
        classifier = classifier or (TurnClassifier.from_live_kb() if self.spans else None)
        return [build(start=a, end=b, classifier=classifier) for a, b in self.spans]


def live_spans(rng: ReportRange, now: datetime) -> LiveSpans:
    today = day_of(now)
    built = built_days(rng, today)
    live = [d for d in rng.days if d not in built and d <= today]
    return LiveSpans(
        [(day_start(a), min(day_start(b + timedelta(days=1)), now)) for a, b in _spans(live)]
    )


def conversation_days(
    rng: ReportRange, *, now: datetime | None = None, live: list | None = None
) -> dict[date, DayFigures]:
    """Each day's conversation figures of the range (the queue filter applied)."""
    now = now or timezone.now()
    out = {day: DayFigures() for day in rng.days}
    today = day_of(now)
    rollups = DailyRollup.objects.filter(
        day__gte=rng.start_day, day__lte=min(rng.end_day, today - timedelta(days=1))
    ).filter(day__in=built_days(rng, today))
    if rng.queue is not None:
        rollups = rollups.filter(queue_id=rng.queue_id)
    for row in rollups:
        out[row.day].add(DayFigures.from_rollup(row))
    live = live if live is not None else live_spans(rng, now).built()
    for built in live:
        for (day, queue), figures in figures_from_built(built).items():
            if day in out and (rng.queue is None or queue == rng.queue_id):
                out[day].add(figures)
    return out


def _total(days: dict[date, DayFigures]) -> DayFigures:
    total = DayFigures()
    for figures in days.values():
        total.add(figures)
    return total


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


# -- invoice checks -------------------------------------------------------------------
def check_rows(rng: ReportRange, *, now: datetime | None = None) -> list[dict]:
    """The range's checks counted per day, dimension (result, diagnosis, region, issuer)
    and value, every queue's (checks belong to none)."""
    now = now or timezone.now()
    today = day_of(now)
    built = built_days(rng, today)
    rows = list(
        DailyChecks.objects.filter(day__in=built).values("day", "dimension", "value", "count")
    )
    for a, b in _spans([d for d in rng.days if d not in built and d <= today]):
        start, end = day_start(a), day_start(b + timedelta(days=1))
        counted: Counter = Counter()
        for at, *values in (
            rows_since(VerificationRecord, start)
            .filter(created_at__lt=end)
            .values_list("created_at", "result", "diagnosis", "region", "issuer")
            .iterator(chunk_size=5000)
        ):
            counted[(day_of(at), *values)] += 1
        rows += check_counts(counted.items())
    return rows


def _sum_by(rows: list[dict], dimension: str, *, skip_blank: bool = False) -> dict[str, int]:
    counted: Counter = Counter()
    for row in rows:
        if row["dimension"] == dimension and not (skip_blank and not row["value"]):
            counted[row["value"]] += row["count"]
    return dict(sorted(counted.items(), key=lambda kv: (-kv[1], kv[0])))


# -- tickets --------------------------------------------------------------------------
def ticket_stats(rng: ReportRange, *, detail: bool) -> TicketFigures:
    return ticket_figures(start=rng.start, end=rng.end, queue_id=rng.queue_id, detail=detail)


# -- the summary ----------------------------------------------------------------------
def report_summary(rng: ReportRange, *, now: datetime | None = None) -> dict:
    """The range's headline figures (the API's `summary`; docs/reports.md defines them)."""
    now = now or timezone.now()
    total = _total(conversation_days(rng, now=now))
    checks = check_rows(rng, now=now)
    tickets = ticket_stats(rng, detail=False)
    return {
        "conversations": total.conversations,
        "messages_in": total.messages_in,
        "bot_answered": total.bot_answered,
        "escalated": total.escalated,
        "deflection_rate": (
            round(1 - total.escalated / total.conversations, 4) if total.conversations else None
        ),
        "containment_rate": _rate(total.contained, total.conversations),
        "unanswered": total.unanswered,
        "top_intents": [
            {"intent": intent, "count": n}
            for intent, n in sorted(total.intents.items(), key=lambda kv: (-kv[1], kv[0]))[
                :TOP_INTENTS
            ]
        ],
        "invoice_checks": _sum_by(checks, "result"),
        "causes": _sum_by(checks, "diagnosis", skip_blank=True),
        "csat_average": tickets.csat_average,
        "csat_responses": tickets.csat_responses,
        "first_response_p50_seconds": tickets.first_response.p50,
        "resolution_p50_seconds": tickets.resolution.p50,
        "sla_first_response_met_rate": _rate(tickets.sla_met, tickets.sla_decided),
    }


# -- the dashboard --------------------------------------------------------------------
def _backlog(rng: ReportRange) -> list[dict]:
    active = Ticket.objects.filter(status__in=Ticket.ACTIVE_STATUSES, merged_into__isnull=True)
    queues = Queue.objects.order_by("name")
    if rng.queue is not None:
        active, queues = active.filter(queue_id=rng.queue_id), queues.filter(pk=rng.queue_id)
    counts = defaultdict(Counter)
    for row in active.values("queue_id", "status").annotate(n=Count("id")).order_by():
        counts[row["queue_id"]][row["status"]] = row["n"]
    unassigned = dict(
        active.filter(assignee__isnull=True)
        .values("queue_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("queue_id", "n")
    )
    return [
        {
            "queue": q.name,
            "slug": q.slug,
            **{s: counts[q.pk].get(s, 0) for s in Ticket.ACTIVE_STATUSES},
            "unassigned": unassigned.get(q.pk, 0),
            "total": sum(counts[q.pk].values()),
        }
        for q in queues
    ]


def _incidents(rng: ReportRange) -> list[dict]:
    found = (
        Incident.objects.filter(created_at__lt=rng.end)
        .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=rng.start))
        .exclude(status=Incident.Status.DISMISSED)
        .order_by("created_at")
    )
    return [
        {
            "id": i.pk,
            "title": i.title,
            "status": i.get_status_display(),
            "start": timezone.localtime(i.confirmed_at or i.created_at).isoformat(),
            "end": timezone.localtime(i.resolved_at).isoformat() if i.resolved_at else None,
        }
        for i in found[:50]
    ]


def _by_day_series(days: dict[date, DayFigures]) -> dict:
    ordered = sorted(days)
    return {
        "days": [d.isoformat() for d in ordered],
        "messages_in": [days[d].messages_in for d in ordered],
        "conversations": [days[d].conversations for d in ordered],
        "bot_answered": [days[d].bot_answered for d in ordered],
        "escalated": [days[d].escalated for d in ordered],
        "contained": [days[d].contained for d in ordered],
        "unanswered": [days[d].unanswered for d in ordered],
        "unanswered_share": [_rate(days[d].unanswered, days[d].conversations) for d in ordered],
    }


def dashboard_data(rng: ReportRange, *, now: datetime | None = None) -> dict:
    """Everything the dashboard draws, as plain data (one JSON blob on the page)."""
    now = now or timezone.now()
    days = conversation_days(rng, now=now)
    total = _total(days)
    checks = check_rows(rng, now=now)
    tickets = ticket_stats(rng, detail=True)
    ordered = sorted(days)
    top = [i for i, _ in sorted(total.intents.items(), key=lambda kv: (-kv[1], kv[0]))][
        :TOP_INTENTS
    ]
    csat_by_day = tickets.csat_by_day
    summary = {
        "conversations": total.conversations,
        "messages_in": total.messages_in,
        "bot_answered": total.bot_answered,
        "escalated": total.escalated,
        "contained": total.contained,
        "unanswered": total.unanswered,
        "rated_useless": total.rated_useless,
        "deflection_rate": (
            round(1 - total.escalated / total.conversations, 4) if total.conversations else None
        ),
        "containment_rate": _rate(total.contained, total.conversations),
        "unanswered_share": _rate(total.unanswered, total.conversations),
        "tickets": tickets.created,
        "checks": sum(r["count"] for r in checks if r["dimension"] == "result"),
        "csat_average": tickets.csat_average,
        "csat_responses": tickets.csat_responses,
        "first_response_p50_seconds": tickets.first_response.p50,
        "first_response_p90_seconds": tickets.first_response.p90,
        "resolution_p50_seconds": tickets.resolution.p50,
        "resolution_p90_seconds": tickets.resolution.p90,
        "sla_first_response_met_rate": _rate(tickets.sla_met, tickets.sla_decided),
    }
    return {
        "range": {
            "start": rng.start_day.isoformat(),
            "end": rng.end_day.isoformat(),
            "queue": rng.queue.slug if rng.queue else "",
        },
        "summary": summary,
        "by_day": _by_day_series(days),
        "by_hour": [sum(days[d].hours[h] for d in ordered) for h in range(24)],
        "intents": {
            "top": [{"intent": i, "count": total.intents[i]} for i in top],
            "trend": {i: [days[d].intents.get(i, 0) for d in ordered] for i in top[:5]},
        },
        "checks": {
            "by_result": _sum_by(checks, "result"),
            "by_cause": _sum_by(checks, "diagnosis", skip_blank=True),
            "by_region": dict(list(_sum_by(checks, "region", skip_blank=True).items())[:10]),
            "by_issuer": dict(list(_sum_by(checks, "issuer", skip_blank=True).items())[:10]),
        },
        "tickets": {
            "by_day": [tickets.created_by_day.get(d, 0) for d in ordered],
            "first_response": tickets.first_response.histogram,
            "resolution": tickets.resolution.histogram,
            "backlog": _backlog(rng),
            "workload": tickets.workload,
        },
        "satisfaction": {
            "by_day": [
                round(csat_by_day[d][1] / csat_by_day[d][0], 2) if d in csat_by_day else None
                for d in ordered
            ],
            "responses_by_day": [csat_by_day[d][0] if d in csat_by_day else 0 for d in ordered],
            "distribution": tickets.csat_distribution,
        },
        "incidents": _incidents(rng),
        "ratings": rating_counts_by_entry(start=rng.start, end=rng.end)[:15],
        "alarms": alarms_recent(since=rng.start),
        "labels": labels(),
    }


def alarms_recent(*, since: datetime) -> list[dict]:
    found = AlarmEpisode.objects.filter(Q(closed_at__isnull=True) | Q(closed_at__gte=since))
    return [
        {
            "kind": e.get_kind_display(),
            "open": e.closed_at is None,
            "opened_at": timezone.localtime(e.opened_at).strftime("%Y-%m-%d %H:%M"),
            "closed_at": (
                timezone.localtime(e.closed_at).strftime("%Y-%m-%d %H:%M") if e.closed_at else ""
            ),
            "rate": round(e.peak_rate, 4),
            "threshold": e.threshold,
        }
        for e in found.order_by("-opened_at")[:10]
    ]


# -- drill-down -----------------------------------------------------------------------
CONVERSATION_FIGURES = {
    "conversations": Q(),
    "bot_answered": Q(bot_answered=True),
    "escalated": Q(escalated=True),
    "contained": Q(contained=True),
    "unanswered": Q(unanswered=True),
    "rated_useless": Q(rated_useless=True),
    "not_escalated": Q(escalated=False),
}


def _conversation_matches(c: Conversation, figure: str) -> bool:
    return {
        "conversations": True,
        "bot_answered": c.bot_answered,
        "escalated": c.escalated,
        "contained": c.contained,
        "unanswered": c.unanswered,
        "rated_useless": c.rated_useless,
        "not_escalated": not c.escalated,
    }[figure]


def drill_conversations(
    rng: ReportRange, *, figure: str, day: date | None = None, limit: int = 500
) -> list[dict]:
    """The conversations behind a conversation figure (newest first)."""
    if figure not in CONVERSATION_FIGURES:
        raise ReportError(ReportErrorCode.UNKNOWN_FIGURE, "没有这项指标")
    if day is not None:
        rng = ReportRange(day, day, rng.queue)
    now = timezone.now()
    today = day_of(now)
    built = built_days(rng, today)
    stored = ReportConversation.objects.filter(day__in=built).filter(CONVERSATION_FIGURES[figure])
    if rng.queue is not None:
        stored = stored.filter(queue_id=rng.queue_id)
    rows = [
        {
            "follower_id": c.follower_id,
            "openid": c.follower.openid,
            "nickname": c.follower.nickname,
            "first_message_id": c.first_message_id,
            "last_message_id": c.last_message_id,
            "started_at": c.started_at,
            "ended_at": c.ended_at,
            "messages_in": c.messages_in,
            "main_intent": c.main_intent,
            "last_outcome": c.last_outcome,
            "escalated": c.escalated,
            "contained": c.contained,
            "unanswered": c.unanswered,
            "ticket_id": c.ticket_id,
        }
        for c in stored.select_related("follower").order_by("-started_at")[:limit]
    ]
    for built_window in live_spans(rng, now).built():
        for c in built_window.conversations:
            if rng.queue is not None and c.queue_id != rng.queue_id:
                continue
            if not _conversation_matches(c, figure):
                continue
            rows.append(
                {
                    "follower_id": c.follower_id,
                    "openid": "",
                    "nickname": "",
                    "first_message_id": c.first_id,
                    "last_message_id": c.rows[-1].id,
                    "started_at": c.started_at,
                    "ended_at": c.ended_at,
                    "messages_in": c.messages_in,
                    "main_intent": c.main_intent,
                    "last_outcome": c.last_outcome,
                    "escalated": c.escalated,
                    "contained": c.contained,
                    "unanswered": c.unanswered,
                    "ticket_id": c.ticket_id,
                }
            )
    _fill_followers(rows)
    rows.sort(key=lambda r: r["started_at"], reverse=True)
    return rows[:limit]


def _fill_followers(rows: list[dict]) -> None:
    from bot.conversations.models import Follower

    missing = {r["follower_id"] for r in rows if not r["openid"]}
    if not missing:
        return
    found = {f.pk: f for f in Follower.objects.filter(pk__in=missing)}
    for row in rows:
        follower = found.get(row["follower_id"])
        if follower is not None and not row["openid"]:
            row["openid"], row["nickname"] = follower.openid, follower.nickname


def conversation_messages(*, follower_id: int, first_id: int, last_id: int):
    """Every message (both ways) of one conversation, oldest first."""
    return Message.objects.filter(
        follower_id=follower_id, id__gte=first_id, id__lte=last_id + 50
    ).filter(Q(id__lte=last_id) | Q(direction=Message.Direction.OUT, reply_to_id__lte=last_id))


# figure → (the stored rows it counts, the same predicate on a live row)
_TICKET_PICKS = {
    "tickets": (Q(), lambda r: True),
    "first_response": (
        Q(first_response_seconds__isnull=False),
        lambda r: r["first_response_seconds"] is not None,
    ),
    "resolved": (
        Q(resolution_seconds__isnull=False),
        lambda r: r["resolution_seconds"] is not None,
    ),
    "sla_missed": (Q(first_response_met=False), lambda r: r["first_response_met"] is False),
    "sla_met": (Q(first_response_met=True), lambda r: r["first_response_met"] is True),
    "rated": (Q(satisfaction__isnull=False), lambda r: r["satisfaction"] is not None),
}
TICKET_FIGURES = tuple(_TICKET_PICKS)


def drill_tickets(
    rng: ReportRange, *, figure: str, value: str = "", limit: int = 500
) -> list[Ticket]:
    """The tickets behind a ticket figure."""
    if figure not in TICKET_FIGURES and figure != "backlog":
        raise ReportError(ReportErrorCode.UNKNOWN_FIGURE, "没有这项指标")
    if figure == "backlog":
        tickets = Ticket.objects.filter(status__in=Ticket.ACTIVE_STATUSES, merged_into__isnull=True)
        if value:
            tickets = tickets.filter(queue__slug=value)
        elif rng.queue is not None:
            tickets = tickets.filter(queue_id=rng.queue_id)
        return list(tickets.select_related("queue", "assignee").order_by("-created_at")[:limit])
    sources = ticket_sources(start=rng.start, end=rng.end, queue_id=rng.queue_id)
    side = sources.rated if figure == "rated" else sources.created
    stored_pick, live_pick = _TICKET_PICKS[figure]
    if figure == "rated" and value:
        stored_pick = Q(satisfaction=value) if value.isdigit() else Q(pk__in=[])
        live_pick = lambda r: str(r["satisfaction"]) == value  # noqa: E731
    ids = list(
        side.stored.filter(stored_pick)
        .order_by("-created_at")
        .values_list("ticket_id", flat=True)[:limit]
    )
    ids += [r["ticket_id"] for r in side.live if live_pick(r)]
    return list(
        Ticket.objects.filter(id__in=ids)
        .select_related("queue", "assignee")
        .order_by("-created_at")[:limit]
    )


CHECK_FIELDS = {"result": "result", "cause": "diagnosis", "region": "region", "issuer": "issuer"}


def drill_checks(
    rng: ReportRange, *, figure: str, value: str, limit: int = 500
) -> list[VerificationRecord]:
    if figure not in CHECK_FIELDS:
        raise ReportError(ReportErrorCode.UNKNOWN_FIGURE, "没有这项指标")
    return list(
        rows_since(VerificationRecord, rng.start)
        .filter(created_at__lt=rng.end, **{CHECK_FIELDS[figure]: value})
        .select_related("follower")
        .order_by("-created_at", "-id")[:limit]
    )


def drill_messages(
    rng: ReportRange, *, intent: str = "", hour: int | None = None, limit: int = 500
) -> list[Message]:
    """Follower messages of the range with an intent, or sent at a local hour."""
    found = Message.objects.filter(
        direction=Message.Direction.IN, created_at__gte=rng.start, created_at__lt=rng.end
    ).exclude(msg_type=Message.Type.EVENT)
    if intent:
        found = found.filter(intent=intent)
    if hour is not None:
        found = found.annotate(hour=ExtractHour("created_at", tzinfo=tz())).filter(hour=hour)
    return list(found.select_related("follower").order_by("-created_at")[:limit])
