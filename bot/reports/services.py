"""Writes of the reports: rollups (built from everyone's rows), and mining's KB actions.

The rollups are rebuilt, never patched: a day's rows are replaced whole under a lock
on its `RollupDay`, so a task run twice (or two at once) leaves the same rows.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Min
from django.db.models.functions import TruncDate
from django.utils import timezone

from bot.conversations.models import Message
from bot.invoices.models import VerificationRecord
from bot.nlu.models import FaqEntry
from bot.nlu.models import Intent as IntentRow
from bot.nlu.services import faq_entry_update, kb_object_save
from bot.reports.building import build
from bot.reports.definitions import SETTLED_AFTER, day_of, day_start, tz
from bot.reports.errors import ReportError, ReportErrorCode
from bot.reports.figures import check_counts, figures_from_built, ticket_values
from bot.reports.models import (
    ClusterAction,
    DailyChecks,
    DailyRollup,
    ReportConversation,
    ReportTicket,
    ReportUnanswered,
    RollupDay,
    Watermark,
)
from bot.reports.outcomes import TurnClassifier
from bot.reports.ticket_figures import tickets_changed_since
from tickets.models import Ticket

TICKET_CHUNK = 2000
TICKET_FIELDS_UPDATED = [
    "queue_id",
    "assignee_id",
    "status",
    "created_at",
    "resolved_at",
    "first_response_seconds",
    "resolution_seconds",
    "first_response_met",
    "satisfaction",
    "satisfaction_at",
    "computed_at",
]


def checks_by_day(*, start: datetime, end: datetime) -> list[dict]:
    """Invoice checks made in [start, end): per local day, dimension and value."""
    rows = (
        VerificationRecord.objects.filter(created_at__gte=start, created_at__lt=end)
        .annotate(day=TruncDate("created_at", tzinfo=tz()))
        .values_list("day", "result", "diagnosis", "region", "issuer")
        .annotate(count=Count("id"))
        .order_by()
    )
    return check_counts(((day, *values), n) for day, *values, n in rows)


@transaction.atomic
def reports_day_build(
    *, day: date, classifier: TurnClassifier | None = None, now: datetime | None = None
) -> RollupDay:
    """Build one local day's rollups and conversation rows, replacing what was there."""
    now = now or timezone.now()
    start, end = day_start(day), day_start(day + timedelta(days=1))
    rollup, _ = RollupDay.objects.select_for_update().get_or_create(
        day=day, defaults={"built_at": now}
    )
    built = build(start=start, end=end, classifier=classifier, now=now)
    DailyRollup.objects.filter(day=day).delete()
    DailyRollup.objects.bulk_create(
        DailyRollup(
            day=key_day,
            queue_id=queue,
            conversations=f.conversations,
            messages_in=f.messages_in,
            bot_answered=f.bot_answered,
            escalated=f.escalated,
            contained=f.contained,
            unanswered=f.unanswered,
            rated_useless=f.rated_useless,
            intents=dict(f.intents),
            hours=f.hours,
        )
        for (key_day, queue), f in figures_from_built(built).items()
    )
    DailyChecks.objects.filter(day=day).delete()
    DailyChecks.objects.bulk_create(
        DailyChecks(**row) for row in checks_by_day(start=start, end=end)
    )
    ReportConversation.objects.filter(day=day).delete()
    ReportConversation.objects.bulk_create(
        (
            ReportConversation(
                day=day,
                follower_id=c.follower_id,
                first_message_id=c.first_id,
                last_message_id=c.rows[-1].id,
                started_at=c.started_at,
                ended_at=c.ended_at,
                messages_in=c.messages_in,
                answered_turns=c.answered_turns,
                main_intent=c.main_intent[:40],
                last_outcome=c.last_outcome,
                last_entry=(c.last_turn.entry if c.last_turn else "")[:60],
                queue_id=c.queue_id,
                ticket_id=c.ticket_id,
                bot_answered=c.bot_answered,
                escalated=c.escalated,
                contained=c.contained,
                unanswered=c.unanswered,
                rated_useless=c.rated_useless,
            )
            for c in built.conversations
        ),
        batch_size=2000,
    )
    ReportUnanswered.objects.filter(day=day).delete()
    ReportUnanswered.objects.bulk_create(
        (
            ReportUnanswered(
                message_id=row.id,
                day=day,
                follower_id=row.follower_id,
                created_at=row.at,
                reason=reason,
                text=row.text[:200],
            )
            for c in built.conversations
            for row, reason in c.unanswered_rows()
        ),
        batch_size=2000,
    )
    rollup.built_at = now
    rollup.settled = now >= end + SETTLED_AFTER
    rollup.save(update_fields=["built_at", "settled"])
    return rollup


def _first_data_day() -> date | None:
    first = [
        Message.objects.aggregate(m=Min("created_at"))["m"],
        Ticket.objects.aggregate(m=Min("created_at"))["m"],
        VerificationRecord.objects.order_by("id").values_list("created_at", flat=True).first(),
    ]
    first = [f for f in first if f is not None]
    return day_of(min(first)) if first else None


def reports_days_due(*, now: datetime | None = None, limit: int | None = None) -> list[date]:
    """Days before today whose rollups are missing or not settled: the newest first."""
    now = now or timezone.now()
    today = day_of(now)
    first = _first_data_day()
    if first is None:
        return []
    backfill = int(getattr(settings, "REPORTS_BACKFILL_DAYS", 400))
    first = max(first, today - timedelta(days=backfill))
    settled = set(RollupDay.objects.filter(settled=True).values_list("day", flat=True))
    due = [
        today - timedelta(days=n)
        for n in range(1, (today - first).days + 1)
        if today - timedelta(days=n) not in settled
    ]
    return due[:limit] if limit is not None else due


def reports_tickets_refresh(*, now: datetime | None = None, full: bool = False) -> int:
    """Recompute the ticket rows of tickets changed since the last run (all with `full`)."""
    now = now or timezone.now()
    with transaction.atomic():
        mark, _ = Watermark.objects.select_for_update().get_or_create(name="tickets")
        since = None if full else mark.at
        if since is None:
            ids = None
        else:
            ids = tickets_changed_since(since)
        mark.at = now
        mark.save(update_fields=["at"])
    done = 0
    for chunk in _ticket_chunks(ids):
        done += _tickets_store(chunk)
    return done


def _ticket_chunks(ids: set[int] | None):
    if ids is not None:
        ordered = sorted(ids)
        for n in range(0, len(ordered), TICKET_CHUNK):
            yield Ticket.objects.filter(id__in=ordered[n : n + TICKET_CHUNK])
        return
    last = 0
    while True:
        page = list(
            Ticket.objects.filter(id__gt=last)
            .order_by("id")
            .values_list("id", flat=True)[:TICKET_CHUNK]
        )
        if not page:
            return
        yield Ticket.objects.filter(id__gte=page[0], id__lte=page[-1])
        last = page[-1]


@transaction.atomic
def _tickets_store(tickets) -> int:
    rows = ticket_values(tickets)
    kept = {row["ticket_id"] for row in rows}
    gone = set(tickets.values_list("id", flat=True)) - kept  # merged away since
    if gone:
        ReportTicket.objects.filter(ticket_id__in=gone).delete()
    ReportTicket.objects.bulk_create(
        [ReportTicket(**row) for row in rows],
        update_conflicts=True,
        unique_fields=["ticket"],
        update_fields=TICKET_FIELDS_UPDATED,
        batch_size=1000,
    )
    return len(rows)


def reports_refresh(*, now: datetime | None = None, days: int | None = None) -> dict:
    """The beat task's work: tickets changed since last time, then the days due."""
    now = now or timezone.now()
    tickets = reports_tickets_refresh(now=now)
    limit = days if days is not None else int(getattr(settings, "REPORTS_DAYS_PER_RUN", 7))
    due = reports_days_due(now=now, limit=limit)
    classifier = TurnClassifier.from_live_kb() if due else None
    for day in due:
        reports_day_build(day=day, classifier=classifier, now=now)
    return {"tickets": tickets, "days": [d.isoformat() for d in due]}


# -- mining: teach the knowledge base a cluster's wording -----------------------------
MAX_TEXTS = 20


def _clean_texts(texts: list[str]) -> list[str]:
    out = []
    for text in texts:
        text = " ".join((text or "").split())[:200]
        if text and text not in out:
            out.append(text)
    if not out:
        raise ReportError(ReportErrorCode.NO_TEXTS, "请至少选择一个问法", field="texts")
    return out[:MAX_TEXTS]


@transaction.atomic
def cluster_paraphrases_add(
    *, entry_key: str, label: str, texts: list[str], user=None
) -> ClusterAction:
    """Add a cluster's wordings to an entry's paraphrases; live at once (KB republished)."""
    entry = FaqEntry.objects.select_for_update().filter(key=entry_key).first()
    if entry is None:
        raise ReportError(ReportErrorCode.UNKNOWN_ENTRY, "问答条目不存在", field="entry")
    texts = _clean_texts(texts)
    have = set(entry.paraphrase_list) | {entry.question}
    added = [t for t in texts if t not in have]
    if added:
        faq_entry_update(entry=entry, paraphrases="\n".join([*entry.paraphrase_list, *added]))
    return ClusterAction.objects.create(
        kind=ClusterAction.Kind.PARAPHRASES,
        label=label[:200],
        texts=texts,
        entry_key=entry.key,
        created_by=user,
    )


@transaction.atomic
def cluster_entry_create(
    *,
    key: str,
    intent_id: str,
    question: str,
    answer: str,
    label: str,
    texts: list[str],
    user=None,
) -> ClusterAction:
    """Create an FAQ entry from a cluster: its wordings become the paraphrases."""
    texts = _clean_texts(texts)
    if not IntentRow.objects.filter(pk=intent_id).exists():
        raise ReportError(ReportErrorCode.INVALID_ENTRY, "意图不存在", field="intent")
    entry = FaqEntry(
        key=key,
        intent_id=intent_id,
        question=question.strip()[:200],
        paraphrases="\n".join(t for t in texts if t != question.strip()),
        answer=answer.strip(),
    )
    try:
        entry.full_clean()
    except Exception as exc:
        messages = getattr(exc, "messages", [str(exc)])
        raise ReportError(ReportErrorCode.INVALID_ENTRY, "；".join(messages)) from exc
    kb_object_save(obj=entry)
    return ClusterAction.objects.create(
        kind=ClusterAction.Kind.NEW_ENTRY,
        label=label[:200],
        texts=texts,
        entry_key=entry.key,
        created_by=user,
    )
