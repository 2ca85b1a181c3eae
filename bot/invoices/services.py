"""Writes of the invoice app: checking an invoice and queued checks (the ledger: ledger.py)."""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from bot.invoices.decoding import Decoded, invoice_decode
from bot.invoices.diagnosis import Diagnosis, diagnosis_make, diagnosis_reply
from bot.invoices.extraction import InvoiceFields
from bot.invoices.kinds import Kind
from bot.invoices.models import DailyCheckCount, Result, VerificationRecord
from bot.invoices.rules import Rule, RuleStop, limit_check, rules_check
from bot.invoices.signals import invoice_check_needs_person
from bot.invoices.verification import ChainResult, VerifyRequest, verify_chain
from bot.invoices.verification import verification_is_fast as verification_is_fast  # for dialog
from bot.invoices.watching import (
    STILL_MISSING,
    invoice_watch_settle,
    invoice_watch_start,
    invoice_watch_tomorrow,
)
from bot.notices.models import NoticeKind
from bot.notices.services import notice_send
from support import metrics


@dataclass(frozen=True)
class CheckOutcome:
    """What one check found and what to tell the follower."""

    diagnosis: Diagnosis
    result: Result
    reply: str
    needs_person: bool
    should_watch: bool
    record_id: int
    watch_id: int | None = None
    kind: str = ""
    region: str = ""
    details: dict = field(default_factory=dict)


def _resolved(fields: InvoiceFields, today: datetime.date) -> tuple[InvoiceFields, Decoded]:
    """Trim the fields and decode kind and region (a kind already known, e.g. from a QR, wins)."""
    code = (fields.invoice_code or "").strip()
    number = (fields.invoice_number or "").strip()
    check_code = (fields.check_code or "").strip()
    if len(check_code) > 6 and check_code.isdigit():
        check_code = check_code[-6:]
    decoded = invoice_decode(code=code, number=number, today=today)
    kind = fields.kind if fields.kind and fields.kind != Kind.UNKNOWN else decoded.kind.value
    fields = replace(
        fields,
        invoice_code=code,
        invoice_number=number,
        check_code=check_code,
        kind=kind,
        region=fields.region or decoded.region or "",
    )
    return fields, decoded


def _daily_count_locked(*, fields: InvoiceFields, day: datetime.date) -> DailyCheckCount:
    row, _ = DailyCheckCount.objects.get_or_create(
        invoice_code=fields.invoice_code or "", invoice_number=fields.invoice_number, day=day
    )
    return DailyCheckCount.objects.select_for_update().get(pk=row.pk)


def _verify_request(fields: InvoiceFields) -> VerifyRequest:
    return VerifyRequest(
        invoice_code=fields.invoice_code or "",
        invoice_number=fields.invoice_number or "",
        issue_date=fields.issue_date,
        kind=fields.kind or "",
        check_code=fields.check_code or "",
        amount=fields.amount,
        amount_kind=fields.amount_kind,
    )


def _record_fields(fields: InvoiceFields) -> dict:
    return {
        "invoice_code": (fields.invoice_code or "")[:12],
        "invoice_number": (fields.invoice_number or "")[:20],
        "issue_date": fields.issue_date,
        "amount": fields.amount,
        "amount_kind": fields.amount_kind or "",
        "check_code": (fields.check_code or "")[:20],
        "kind": fields.kind or "",
        "region": fields.region or "",
    }


def record_fields(record) -> InvoiceFields:
    """The fields stored on a VerificationRecord or InvoiceWatch."""
    return InvoiceFields(
        invoice_code=record.invoice_code,
        invoice_number=record.invoice_number,
        issue_date=record.issue_date,
        amount=record.amount,
        amount_kind=record.amount_kind or None,
        check_code=record.check_code,
        kind=record.kind or None,
        region=record.region or None,
    )


def _issuer(*, given: str, chain: ChainResult | None) -> str:
    """The seller: the tax id given with the fields, else who the ledger says issued it."""
    if given:
        return given[:32]
    for attempt in chain.attempts if chain else ():
        if attempt.backend == "ledger":
            seller = attempt.details.get("seller_tax_id") or attempt.details.get("seller_name")
            if seller:
                return str(seller)[:32]
    return ""


def _rules_stop(fields: InvoiceFields, decoded: Decoded, today: datetime.date) -> RuleStop | None:
    """The rule that stops a check of these (resolved) fields before any call, if one does."""
    return rules_check(
        fields=fields,
        decoded=decoded,
        kind=fields.kind,
        today=today,
        checks_today=0,
        daily_limit=settings.INVOICE_DAILY_CHECK_LIMIT,
        max_age_years=settings.INVOICE_MAX_AGE_YEARS,
    )


def _check_run(
    *,
    record: VerificationRecord,
    fields: InvoiceFields,
    start_watch: bool,
    read_from_qr: Iterable[str] = (),
) -> CheckOutcome:
    today = timezone.localdate()
    fields, decoded = _resolved(fields, today)
    limit = settings.INVOICE_DAILY_CHECK_LIMIT
    stop = _rules_stop(fields, decoded, today)
    chain: ChainResult | None = None
    if stop is None:
        # Counted only once the fields are sound; the row lock serialises checks of one invoice.
        counter = _daily_count_locked(fields=fields, day=today)
        stop = limit_check(checks_today=counter.count, daily_limit=limit)
        if stop is None:
            DailyCheckCount.objects.filter(pk=counter.pk).update(count=F("count") + 1)
            chain = verify_chain(_verify_request(fields))
            metrics.verification_observed(chain)
    outcome = diagnosis_make(
        fields=fields,
        decoded=decoded,
        kind=fields.kind,
        stop=stop,
        chain=chain,
        today=today,
        recent_days=settings.INVOICE_RECENT_DAYS,
    )
    watch = None
    if outcome.should_watch and start_watch and record.follower_id:
        watch = invoice_watch_start(
            follower_id=record.follower_id,
            fields=fields,
            issued_today=outcome.code is Diagnosis.ISSUED_TODAY,
        )
    elif start_watch and record.follower_id and outcome.code.value not in STILL_MISSING:
        # The follower has just been told; a watch of this invoice has nothing left to say.
        invoice_watch_settle(follower_id=record.follower_id, fields=fields)
    reply = diagnosis_reply(
        outcome=outcome,
        fields=fields,
        kind=fields.kind,
        region=fields.region,
        watching=watch is not None,
        qr_fields=read_from_qr,
    )
    for name, value in _record_fields(fields).items():
        setattr(record, name, value)
    record.backend = chain.final.backend if chain else "rules"
    record.result = outcome.result.value
    record.diagnosis = outcome.code.value
    record.details = {
        **outcome.context,
        **({"read_from_qr": sorted(read_from_qr)} if read_from_qr else {}),
        "attempts": [
            {"backend": a.backend, "result": a.result.value, "error": a.error}
            for a in (chain.attempts if chain else ())
        ],
    }
    record.latency_ms = chain.latency_ms if chain else 0
    record.error = chain.final.error[:255] if chain else ""
    given = (fields.seller_tax_id or "").strip() or record.issuer  # a queued check kept it
    record.issuer = _issuer(given=given, chain=chain)
    record.save(
        update_fields=[
            *_record_fields(fields),
            "backend",
            "result",
            "diagnosis",
            "issuer",
            "details",
            "latency_ms",
            "error",
        ]
    )
    return CheckOutcome(
        diagnosis=outcome.code,
        result=outcome.result,
        reply=reply,
        needs_person=outcome.needs_person,
        should_watch=outcome.should_watch,
        record_id=record.pk,
        watch_id=watch.pk if watch else None,
        kind=fields.kind or "",
        region=fields.region or "",
        details=dict(chain.final.details) if chain else {},
    )


@transaction.atomic
def invoice_check(
    *,
    follower_id: int | None,
    fields: InvoiceFields,
    source: str = VerificationRecord.Source.DIALOG,
    start_watch: bool = True,
    read_from_qr: Iterable[str] = (),
) -> CheckOutcome:
    """Check one invoice: rules, then the backends; record it, diagnose it, maybe watch it.

    `read_from_qr`: the names of the fields read from the invoice's QR code rather than
    typed (the answer then never calls them a typing slip).
    """
    read_from_qr = frozenset(read_from_qr)
    record = VerificationRecord.objects.create(
        follower_id=follower_id, source=source, **_record_fields(fields)
    )
    return _check_run(
        record=record, fields=fields, start_watch=start_watch, read_from_qr=read_from_qr
    )


@transaction.atomic
def invoice_check_queue(
    *, follower_id: int, fields: InvoiceFields, read_from_qr: Iterable[str] = ()
) -> VerificationRecord:
    """Record a pending check and run it in a task after commit; the result is pushed."""
    from bot.invoices.tasks import invoice_check_push

    qr = sorted(set(read_from_qr))
    record = VerificationRecord.objects.create(
        follower_id=follower_id,
        source=VerificationRecord.Source.DIALOG,
        issuer=(fields.seller_tax_id or "").strip()[:32],
        details={"read_from_qr": qr} if qr else {},
        **_record_fields(fields),
    )
    transaction.on_commit(lambda: invoice_check_push.delay(record.pk))
    return record


@transaction.atomic
def invoice_check_push_run(*, record_id: int) -> CheckOutcome | None:
    """Run a queued check once and push its answer; a no-op when it already ran."""
    record = (
        VerificationRecord.objects.select_for_update()
        .filter(pk=record_id, result=VerificationRecord.PENDING)
        .first()
    )
    if record is None:
        return None
    outcome = _check_run(
        record=record,
        fields=record_fields(record),
        start_watch=True,
        read_from_qr=frozenset(record.details.get("read_from_qr") or ()),
    )
    if record.follower_id:
        notice_send(
            kind=NoticeKind.INVOICE_CHECK_RESULT,
            follower_id=record.follower_id,
            text=outcome.reply,
            idempotency_key=f"invoice-check:{record.pk}",
        )
        if outcome.needs_person:
            invoice_check_needs_person.send(
                sender=VerificationRecord,
                follower_id=record.follower_id,
                fields=record_fields(record),
                outcome=outcome,
            )
    return outcome


@dataclass(frozen=True)
class RecheckOutcome:
    """A re-check the follower asked for: set (`watch_id`, `next_check_at`), or refused
    because the fields cannot be checked on any day (`check`: that answer, told now)."""

    watch_id: int | None = None
    next_check_at: datetime.datetime | None = None
    check: CheckOutcome | None = None


@transaction.atomic
def invoice_recheck_schedule(
    *, follower_id: int, fields: InvoiceFields, read_from_qr: Iterable[str] = ()
) -> RecheckOutcome:
    """Re-check an invoice tomorrow morning, as the follower asked (明天帮我复查).

    The rules run first, without a call: fields that no day will make checkable (a wrong
    region, a bad date, a missing field …) get their answer now instead of tomorrow. An
    invoice issued today is exactly what tomorrow fixes; so is today's check limit.
    """
    today = timezone.localdate()
    resolved, decoded = _resolved(fields, today)
    stop = _rules_stop(resolved, decoded, today)
    if stop is not None and stop.rule is not Rule.ISSUED_TODAY:
        outcome = invoice_check(
            follower_id=follower_id, fields=fields, start_watch=False, read_from_qr=read_from_qr
        )
        return RecheckOutcome(check=outcome)
    watch = invoice_watch_tomorrow(follower_id=follower_id, fields=resolved)
    return RecheckOutcome(watch_id=watch.pk, next_check_at=watch.next_check_at)
