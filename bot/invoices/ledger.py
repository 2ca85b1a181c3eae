"""Writes of the ledger: the invoices issued through the operator's platform.

Rows come from `manage.py import_invoices FILE.csv`, admin and the API; the `ledger`
verification backend reads them.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from bot.invoices.models import LedgerInvoice
from support.audit.bulk import bulk_changes_record

LEDGER_COLUMNS = (
    "invoice_code",
    "invoice_number",
    "issue_date",
    "amount",
    "total",
    "check_code",
    "seller_name",
    "seller_tax_id",
    "buyer_name",
    "status",
    "uploaded_at",
)
_LEDGER_UPDATE_FIELDS = [c for c in LEDGER_COLUMNS if c not in ("invoice_code", "invoice_number")]


class LedgerRowError(ValueError):
    """A ledger row that cannot be stored; the message says why (in English, for operators)."""


def _money(value: str, name: str) -> Decimal:
    try:
        amount = Decimal(value.replace(",", "").strip())
    except InvalidOperation:
        raise LedgerRowError(f"{name}: not a number: {value!r}") from None
    if not amount.is_finite() or abs(amount) >= Decimal("1e12"):
        raise LedgerRowError(f"{name}: out of range: {value!r}")
    return amount.quantize(Decimal("0.01"))


def ledger_row_parse(row: dict) -> dict:
    """Validate one ledger row (CSV strings) and return model field values."""
    get = {k: (row.get(k) or "").strip() for k in LEDGER_COLUMNS}
    code, number = get["invoice_code"], get["invoice_number"]
    if code and not (code.isdigit() and len(code) in (10, 12)):
        raise LedgerRowError(f"invoice_code: 10 or 12 digits, or empty for 数电: {code!r}")
    if not number.isdigit() or len(number) not in (8, 20):
        raise LedgerRowError(f"invoice_number: 8 digits, or 20 for 数电: {number!r}")
    if (len(number) == 20) == bool(code):
        raise LedgerRowError("a 20-digit number has no code; an 8-digit number needs one")
    try:
        issue_date = parse_date(get["issue_date"]) if get["issue_date"] else None
    except ValueError:
        issue_date = None
    if issue_date is None:
        raise LedgerRowError(f"issue_date: expected YYYY-MM-DD: {get['issue_date']!r}")
    status = get["status"] or LedgerInvoice.Status.VALID
    if status not in LedgerInvoice.Status.values:
        raise LedgerRowError(f"status: one of {', '.join(LedgerInvoice.Status.values)}: {status!r}")
    uploaded_at = None
    if get["uploaded_at"]:
        try:
            uploaded_at = parse_datetime(get["uploaded_at"])
        except ValueError:
            uploaded_at = None
        if uploaded_at is None:
            raise LedgerRowError(f"uploaded_at: expected ISO 8601: {get['uploaded_at']!r}")
        if timezone.is_naive(uploaded_at):
            uploaded_at = timezone.make_aware(uploaded_at)
    if get["check_code"] and not get["check_code"].isdigit():
        raise LedgerRowError(f"check_code: digits only: {get['check_code']!r}")
    return {
        "invoice_code": code,
        "invoice_number": number,
        "issue_date": issue_date,
        "amount": _money(get["amount"], "amount"),
        "total": _money(get["total"], "total"),
        "check_code": get["check_code"][:20],
        "seller_name": get["seller_name"][:200],
        "seller_tax_id": get["seller_tax_id"][:20],
        "buyer_name": get["buyer_name"][:200],
        "status": status,
        "uploaded_at": uploaded_at,
    }


@transaction.atomic
def ledger_invoice_upsert(*, data: dict) -> tuple[LedgerInvoice, bool]:
    """Create or update the ledger row for (code, number); True when created."""
    key = {"invoice_code": data.get("invoice_code") or "", "invoice_number": data["invoice_number"]}
    defaults = {k: v for k, v in data.items() if k in _LEDGER_UPDATE_FIELDS}
    return LedgerInvoice.objects.update_or_create(**key, defaults=defaults)


@transaction.atomic
def ledger_invoice_update(*, invoice: LedgerInvoice, data: dict) -> LedgerInvoice:
    """Change fields of one ledger row (its code and number included)."""
    changed = [k for k in LEDGER_COLUMNS if k in data]
    for name in changed:
        setattr(invoice, name, data[name] if name != "invoice_code" else data[name] or "")
    invoice.save(update_fields=[*changed, "updated_at"])
    return invoice


@transaction.atomic
def ledger_invoices_mark_uploaded(*, ids: Iterable[int]) -> int:
    """Record that these invoices reached the tax system now (those not marked yet)."""
    pending = LedgerInvoice.objects.select_for_update().filter(
        pk__in=list(ids), uploaded_at__isnull=True
    )
    before = {row.pk: row for row in pending}
    now = timezone.now()
    count = LedgerInvoice.objects.filter(pk__in=before).update(uploaded_at=now, updated_at=now)
    bulk_changes_record(
        before=before,
        after=LedgerInvoice.objects.filter(pk__in=before),
        key=lambda row: row.pk,
        how="ledger_invoices_mark_uploaded",
    )
    return count


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


@transaction.atomic
def ledger_batch_upsert(*, rows: Iterable[dict]) -> tuple[int, int]:
    """Insert or update parsed ledger rows in one statement; returns (created, updated)."""
    by_key = {(r["invoice_code"], r["invoice_number"]): r for r in rows}  # the last row wins
    if not by_key:
        return 0, 0
    numbers = {number for _, number in by_key}

    def key(row: LedgerInvoice) -> tuple[str, str]:
        return (row.invoice_code, row.invoice_number)

    # The rows as they were, for the audit trail (bulk writes send no signals).
    before = {
        key(row): row
        for row in LedgerInvoice.objects.filter(invoice_number__in=numbers)
        if key(row) in by_key
    }
    LedgerInvoice.objects.bulk_create(
        [LedgerInvoice(**row) for row in by_key.values()],
        update_conflicts=True,
        unique_fields=["invoice_code", "invoice_number"],
        update_fields=[*_LEDGER_UPDATE_FIELDS, "updated_at"],
    )
    after = [
        row
        for row in LedgerInvoice.objects.filter(invoice_number__in=numbers)
        if key(row) in by_key
    ]
    bulk_changes_record(before=before, after=after, key=key, how="ledger_batch_upsert")
    updated = len(before)
    return len(by_key) - updated, updated
