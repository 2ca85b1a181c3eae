"""The help desk's view of invoices: snapshots for a ticket's invoice card, and re-verify.

A ticket stores invoices as plain dicts (the help desk cannot import invoice
models), in the keys its admin card shows: number, code, kind, date, amount,
result, diagnosis {cause, advice} and history [{at, result}]. The check code and
the amount's kind ride along so a snapshot can be checked again.
`ticket_invoices_reverify` is the `TICKETS_INVOICE_REVERIFY` hook.
"""

import datetime
from decimal import Decimal, InvalidOperation

from django.utils import timezone

from bot.invoices.diagnosis import KIND_LABELS
from bot.invoices.extraction import InvoiceFields
from bot.invoices.models import Result, VerificationRecord

# Checks of the invoice shown to the agent, newest last.
HISTORY_LIMIT = 10
_RESULT_LABELS = dict(Result.choices)
# The help-desk category (an intent id, ../nlu/intents.md) of a diagnosis a person acts on.
_CATEGORY = {
    "not_found": "invoice_not_found",
    "not_found_recent": "sync_delay",
    "not_uploaded": "sync_delay",
    "issued_today": "sync_delay",
    "mismatch": "info_mismatch",
    "wrong_amount_kind": "info_mismatch",
    "voided": "void_red_status",
    "red_flushed": "void_red_status",
    "partly_red_flushed": "void_red_status",
    "check_limit": "check_limit",
    "not_beijing": "cross_region",
    "digital_split": "digital_invoice",
    "upstream_unavailable": "system_outage",
}


def diagnosis_category(diagnosis: str) -> str:
    """The help-desk category for a diagnosis (unknown ones: invoice_not_found)."""
    return _CATEGORY.get(diagnosis, "invoice_not_found")


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
    from bot.invoices.services import invoice_check

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
