"""Watch invoices that are not in the tax system yet, and tell the follower when they are.

A watch is re-checked by the beat task (`tasks.invoice_watches_recheck_due`) and by
`manage.py invoice_recheck --all`, both through `invoice_watch_recheck`. Re-checks
back off (first delay doubling up to a cap) and spend at most
INVOICE_WATCH_CHECKS_PER_DAY of the invoice's daily checks, leaving the rest to the
follower. When the window ends the follower is told and `watch_expired_escalate`
hands the case to people.
"""

import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from bot.invoices.extraction import InvoiceFields
from bot.invoices.models import InvoiceWatch
from bot.invoices.selectors import daily_check_count, watch_checks_on
from bot.invoices.signals import invoice_watch_expired

# Diagnoses after which the invoice is still not in the tax system: keep watching.
STILL_MISSING = frozenset(
    {
        "not_found_recent",
        "not_found",
        "not_uploaded",
        "issued_today",
        "upstream_unavailable",
        "check_limit",
    }
)
# Re-checks postponed to the next day start at this local hour.
MORNING_HOUR = 8


def _next_morning(now: datetime.datetime) -> datetime.datetime:
    local = timezone.localtime(now)
    tomorrow = local.date() + datetime.timedelta(days=1)
    return timezone.make_aware(
        datetime.datetime.combine(tomorrow, datetime.time(MORNING_HOUR)), local.tzinfo
    )


def _start_of_day(now: datetime.datetime) -> datetime.datetime:
    local = timezone.localtime(now)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def watch_backoff(attempts: int) -> datetime.timedelta:
    """Delay before the next re-check after `attempts` re-checks."""
    first = settings.INVOICE_WATCH_FIRST_DELAY_MINUTES
    minutes = min(first * 2 ** max(attempts - 1, 0), settings.INVOICE_WATCH_MAX_DELAY_MINUTES)
    return datetime.timedelta(minutes=minutes)


@transaction.atomic
def invoice_watch_start(
    *, follower_id: int, fields: InvoiceFields, issued_today: bool = False
) -> InvoiceWatch:
    """Start watching an invoice for a follower; an active watch of it is reused."""
    key = {
        "follower_id": follower_id,
        "invoice_code": fields.invoice_code or "",
        "invoice_number": fields.invoice_number or "",
        "status": InvoiceWatch.Status.ACTIVE,
    }
    existing = InvoiceWatch.objects.filter(**key).first()
    if existing:
        return existing
    now = timezone.now()
    first_check = _next_morning(now) if issued_today else now + watch_backoff(1)
    expires_at = now + datetime.timedelta(days=settings.INVOICE_WATCH_DAYS)
    try:
        with transaction.atomic():
            return InvoiceWatch.objects.create(
                **key,
                issue_date=fields.issue_date,
                amount=fields.amount,
                amount_kind=fields.amount_kind or "",
                check_code=fields.check_code or "",
                kind=fields.kind or "",
                region=fields.region or "",
                next_check_at=min(first_check, expires_at),
                expires_at=expires_at,
            )
    except IntegrityError:
        # Another request started the same watch a moment ago (invoices_watch_one_active).
        return InvoiceWatch.objects.get(**key)


@transaction.atomic
def invoice_watch_tomorrow(*, follower_id: int, fields: InvoiceFields) -> InvoiceWatch:
    """Re-check an invoice tomorrow morning, as the follower asked (明天帮我复查).

    An active watch of the invoice is reused: one due later is brought forward to the
    morning, one due sooner keeps its time (and goes on re-checking after it), and one
    whose window would close before the morning is given a window from then on.
    """
    watch = invoice_watch_start(follower_id=follower_id, fields=fields, issued_today=True)
    watch = InvoiceWatch.objects.select_for_update().get(pk=watch.pk)
    morning = _next_morning(timezone.now())
    changed = []
    if watch.expires_at <= morning:
        watch.expires_at = morning + datetime.timedelta(days=max(settings.INVOICE_WATCH_DAYS, 1))
        changed.append("expires_at")
    if watch.next_check_at > morning:
        watch.next_check_at = morning
        changed.append("next_check_at")
    if changed:
        watch.save(update_fields=changed)
    return watch


def invoice_watch_settle(*, follower_id: int, fields: InvoiceFields) -> int:
    """End the follower's active watch of an invoice they have just had an answer for."""
    return InvoiceWatch.objects.filter(
        follower_id=follower_id,
        invoice_code=fields.invoice_code or "",
        invoice_number=fields.invoice_number or "",
        status=InvoiceWatch.Status.ACTIVE,
    ).update(status=InvoiceWatch.Status.FOUND, ended_at=timezone.now())


# Notice kind and idempotency-key suffix per watch push (bot.notices.models.NoticeKind).
_PUSHES = {"found": "invoice_in_system", "ended": "invoice_watch_ended"}


def watch_notice_push(*, watch: InvoiceWatch, text: str, event: str) -> None:
    """Tell the follower about their watched invoice, once per watch and event."""
    from bot.notices.services import notice_send

    notice_send(
        kind=_PUSHES[event],
        follower_id=watch.follower_id,
        text=text,
        idempotency_key=f"invoice-watch:{watch.pk}:{event}",
    )


def watch_expired_escalate(*, watch: InvoiceWatch) -> None:
    """Hand an invoice that never appeared to people (the help desk receives the signal)."""
    invoice_watch_expired.send(sender=InvoiceWatch, watch=watch)


def _render(template: str, watch: InvoiceWatch, **context) -> str:
    context = {"code": watch.invoice_code, "number": watch.invoice_number, **context}
    return render_to_string(f"bot/invoices/{template}", context).strip()


def _end(watch: InvoiceWatch, status: str, now: datetime.datetime) -> None:
    watch.status = status
    watch.ended_at = now
    watch.save(update_fields=["status", "ended_at", "attempts", "last_result", "last_record"])


def _expire(watch: InvoiceWatch, now: datetime.datetime) -> None:
    _end(watch, InvoiceWatch.Status.EXPIRED, now)
    watch_notice_push(
        watch=watch,
        text=_render("watch_expired.txt", watch, days=settings.INVOICE_WATCH_DAYS),
        event="ended",
    )
    watch_expired_escalate(watch=watch)


def _quota_used(watch: InvoiceWatch, now: datetime.datetime) -> bool:
    if watch_checks_on(watch=watch, since=_start_of_day(now)) >= (
        settings.INVOICE_WATCH_CHECKS_PER_DAY
    ):
        return True
    used = daily_check_count(
        invoice_code=watch.invoice_code,
        invoice_number=watch.invoice_number,
        day=timezone.localdate(now),
    )
    return used >= settings.INVOICE_DAILY_CHECK_LIMIT


@transaction.atomic
def invoice_watch_recheck(*, watch_id: int, force: bool = False) -> InvoiceWatch | None:
    """Re-check one active watch that is due (or any active one when forced)."""
    # Imported here: services starts watches, so it imports this module first.
    from bot.invoices.models import VerificationRecord
    from bot.invoices.services import invoice_check, record_fields

    watch = (
        InvoiceWatch.objects.select_for_update()
        .select_related("follower")
        .filter(pk=watch_id, status=InvoiceWatch.Status.ACTIVE)
        .first()
    )
    now = timezone.now()
    if watch is None or (not force and watch.next_check_at > now):
        return watch
    if not watch.follower.subscribed:
        # Nobody to tell: WeChat refuses messages to followers who left (43004).
        _end(watch, InvoiceWatch.Status.CANCELLED, now)
        return watch
    if _quota_used(watch, now):
        if now >= watch.expires_at:
            _expire(watch, now)
        else:
            watch.next_check_at = min(_next_morning(now), watch.expires_at)
            watch.save(update_fields=["next_check_at"])
        return watch
    outcome = invoice_check(
        follower_id=watch.follower_id,
        fields=record_fields(watch),
        source=VerificationRecord.Source.WATCH,
        start_watch=False,
    )
    watch.attempts += 1
    watch.last_result = outcome.result.value
    watch.last_record_id = outcome.record_id
    if outcome.diagnosis.value not in STILL_MISSING:
        _end(watch, InvoiceWatch.Status.FOUND, now)
        watch_notice_push(
            watch=watch, text=_render("watch_found.txt", watch, reply=outcome.reply), event="found"
        )
    elif now >= watch.expires_at:
        _expire(watch, now)
    else:
        watch.next_check_at = min(now + watch_backoff(watch.attempts), watch.expires_at)
        watch.save(update_fields=["next_check_at", "attempts", "last_result", "last_record"])
    return watch


@transaction.atomic
def invoice_watch_cancel(*, watch_id: int) -> bool:
    """Stop watching; True when an active watch was cancelled."""
    return bool(
        InvoiceWatch.objects.filter(pk=watch_id, status=InvoiceWatch.Status.ACTIVE).update(
            status=InvoiceWatch.Status.CANCELLED, ended_at=timezone.now()
        )
    )
