"""The help desk's view of invoices: snapshots for a ticket's invoice card, and re-verify.

A ticket stores invoices as plain dicts (the help desk cannot import invoice
models), in the keys its admin card shows: number, code, kind, date, amount,
result, diagnosis {cause, advice} and history [{at, result}]. The check code and
the amount's kind ride along so a snapshot can be checked again.
`ticket_invoices_reverify` is the `TICKETS_INVOICE_REVERIFY` hook. Snapshots are built
here only: the dialog's escalation, a pushed check's and an expired watch's all come here.
"""

import datetime
from dataclasses import replace
from decimal import Decimal, InvalidOperation

from django.utils import timezone

from bot.invoices.diagnosis import KIND_LABELS, Diagnosis, DiagnosisOutcome, diagnosis_reply
from bot.invoices.extraction import InvoiceFields
from bot.invoices.models import InvoiceWatch, Result, VerificationRecord
from bot.invoices.services import CheckOutcome, invoice_check, record_fields
from bot.nlu.vocabulary import Intent

# Checks of the invoice shown to the agent, newest last.
HISTORY_LIMIT = 10
_RESULT_LABELS = dict(Result.choices)
# The help-desk category (an intent id, ../nlu/intents.md) of a diagnosis a person acts on.
_CATEGORY: dict[Diagnosis, Intent] = {
    Diagnosis.NOT_FOUND: Intent.INVOICE_NOT_FOUND,
    Diagnosis.NOT_FOUND_RECENT: Intent.SYNC_DELAY,
    Diagnosis.NOT_UPLOADED: Intent.SYNC_DELAY,
    Diagnosis.ISSUED_TODAY: Intent.SYNC_DELAY,
    Diagnosis.MISMATCH: Intent.INFO_MISMATCH,
    Diagnosis.WRONG_AMOUNT_KIND: Intent.INFO_MISMATCH,
    Diagnosis.VOIDED: Intent.VOID_RED_STATUS,
    Diagnosis.RED_FLUSHED: Intent.VOID_RED_STATUS,
    Diagnosis.PARTLY_RED_FLUSHED: Intent.VOID_RED_STATUS,
    Diagnosis.CHECK_LIMIT: Intent.CHECK_LIMIT,
    Diagnosis.NOT_BEIJING: Intent.CROSS_REGION,
    Diagnosis.DIGITAL_SPLIT: Intent.DIGITAL_INVOICE,
    Diagnosis.UPSTREAM_UNAVAILABLE: Intent.SYSTEM_OUTAGE,
}


def diagnosis_category(diagnosis: Diagnosis | str) -> str:
    """The help-desk category for a diagnosis (unknown ones: invoice_not_found)."""
    try:
        return _CATEGORY.get(Diagnosis(diagnosis), Intent.INVOICE_NOT_FOUND)
    except ValueError:
        return Intent.INVOICE_NOT_FOUND


def result_label(result: str) -> str:
    return _RESULT_LABELS.get(result, result)


def _diagnosis_parts(reply: str) -> dict:
    """Split an answer into its first line (the cause) and the rest (what to do)."""
    first, _, rest = (reply or "").strip().partition("\n")
    return {"cause": first.strip(), "advice": rest.strip()}


def invoice_history(*, invoice_code: str, invoice_number: str) -> list[dict]:
    """The last checks of one invoice, by anyone and any source, oldest first."""
    records = (
        VerificationRecord.objects.filter(
            invoice_code=invoice_code or "", invoice_number=invoice_number or ""
        )
        .exclude(result=VerificationRecord.PENDING)
        .order_by("-created_at", "-id")
        .values_list("created_at", "result")[:HISTORY_LIMIT]
    )
    return [
        {"at": timezone.localtime(at).strftime("%Y-%m-%d %H:%M"), "result": result_label(result)}
        for at, result in reversed(records)
    ]


def invoice_snapshot(*, fields: InvoiceFields, result: str, reply: str, diagnosis: str) -> dict:
    """One invoice as a ticket keeps it: the fields, the last answer and its history."""
    number = fields.invoice_number or ""
    code = fields.invoice_code or ""
    return {
        "number": number,
        "code": code,
        "kind": KIND_LABELS.get(fields.kind or "", fields.kind or ""),
        "kind_code": fields.kind or "",
        "date": fields.issue_date.isoformat() if fields.issue_date else "",
        "amount": f"{fields.amount:.2f}" if fields.amount is not None else "",
        "amount_kind": fields.amount_kind or "",
        "check_code": fields.check_code or "",
        "result": result_label(result),
        "result_code": result,
        "diagnosis_code": diagnosis,
        "diagnosis": _diagnosis_parts(reply),
        "history": invoice_history(invoice_code=code, invoice_number=number),
    }


def outcome_snapshot(*, fields: InvoiceFields, outcome: CheckOutcome) -> dict:
    """The snapshot of an invoice just checked (the kind the check decoded wins)."""
    return invoice_snapshot(
        fields=replace(fields, kind=outcome.kind or fields.kind),
        result=outcome.result.value,
        reply=outcome.reply,
        diagnosis=outcome.diagnosis.value,
    )


def watch_snapshot(*, watch: InvoiceWatch) -> dict:
    """The watched invoice as the help desk keeps it, with the last answer about it."""
    fields = record_fields(watch)
    record = watch.last_record or (
        VerificationRecord.objects.filter(
            follower_id=watch.follower_id,
            invoice_code=watch.invoice_code,
            invoice_number=watch.invoice_number,
        )
        .exclude(result=VerificationRecord.PENDING)
        .order_by("-created_at", "-id")
        .first()
    )
    return record_snapshot(record=record, fields=fields, fallback_result=watch.last_result)


def session_snapshots(*, follower_id: int, since: datetime.datetime) -> list[dict]:
    """Every invoice the follower checked since `since`, each with its latest check."""
    records = (
        VerificationRecord.objects.filter(follower_id=follower_id, created_at__gte=since)
        .exclude(result=VerificationRecord.PENDING)
        .order_by("-created_at", "-id")[:50]
    )
    latest: dict[tuple[str, str], VerificationRecord] = {}
    for record in records:
        latest.setdefault((record.invoice_code, record.invoice_number), record)
    return [
        record_snapshot(record=record, fields=record_fields(record), fallback_result=record.result)
        for record in reversed(list(latest.values()))
        if record.invoice_number
    ]


def record_snapshot(
    *, record: VerificationRecord | None, fields: InvoiceFields, fallback_result: str
) -> dict:
    """The snapshot of an invoice from its latest check record (diagnosis included)."""
    known = {d.value for d in Diagnosis}, {r.value for r in Result}
    if record is None or record.diagnosis not in known[0] or record.result not in known[1]:
        return invoice_snapshot(fields=fields, result=fallback_result, reply="", diagnosis="")
    outcome = DiagnosisOutcome(
        code=Diagnosis(record.diagnosis),
        result=Result(record.result),
        needs_person=True,
        should_watch=False,
        context={k: v for k, v in (record.details or {}).items() if k != "attempts"},
    )
    reply = diagnosis_reply(
        outcome=outcome,
        fields=fields,
        kind=fields.kind or "",
        region=fields.region or "",
        watching=False,
    )
    return invoice_snapshot(
        fields=fields, result=record.result, reply=reply, diagnosis=record.diagnosis
    )


def snapshot_fields(snapshot: dict) -> InvoiceFields:
    """The fields of a stored snapshot, as a new check needs them."""
    try:
        amount = Decimal(snapshot["amount"]) if snapshot.get("amount") else None
    except InvalidOperation:
        amount = None
    try:
        issue_date = datetime.date.fromisoformat(snapshot["date"]) if snapshot.get("date") else None
    except ValueError:
        issue_date = None
    return InvoiceFields(
        invoice_code=snapshot.get("code") or "",
        invoice_number=snapshot.get("number") or "",
        issue_date=issue_date,
        amount=amount,
        amount_kind=snapshot.get("amount_kind") or None,
        check_code=snapshot.get("check_code") or "",
        kind=snapshot.get("kind_code") or None,
    )


def ticket_invoices_reverify(ticket) -> list[dict]:
    """Check every invoice on a ticket again; return the new snapshots (TICKETS_INVOICE_REVERIFY).

    A snapshot without an invoice number is kept as it is: there is nothing to check.
    """
    out = []
    for snapshot in ticket.invoices or []:
        if not isinstance(snapshot, dict) or not snapshot.get("number"):
            out.append(snapshot)
            continue
        fields = snapshot_fields(snapshot)
        outcome = invoice_check(
            follower_id=None,
            fields=fields,
            source=VerificationRecord.Source.API,
            start_watch=False,
        )
        fresh = invoice_snapshot(
            fields=fields,
            result=outcome.result.value,
            reply=outcome.reply,
            diagnosis=outcome.diagnosis.value,
        )
        out.append({**snapshot, **fresh})
    return out
