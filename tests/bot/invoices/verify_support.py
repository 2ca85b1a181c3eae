"""Helpers of the verification tests: typical invoices and ledger rows."""

import datetime
from decimal import Decimal

from django.utils import timezone

from bot.invoices.extraction import InvoiceFields
from bot.invoices.models import LedgerInvoice

# A Beijing electronic ordinary invoice code of 2024, a Beijing special one, a 数电 number.
CODE_ORDINARY = "011002400211"
CODE_SPECIAL = "1100241130"
DIGITAL_NUMBER = "24117000000212341234"


def days_ago(days: int) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=days)


def ordinary_fields(**overrides) -> InvoiceFields:
    values = {
        "invoice_code": CODE_ORDINARY,
        "invoice_number": "12345678",
        "issue_date": days_ago(30),
        "check_code": "567890",
    }
    values.update(overrides)
    return InvoiceFields(**values)


def special_fields(**overrides) -> InvoiceFields:
    values = {
        "invoice_code": CODE_SPECIAL,
        "invoice_number": "87654321",
        "issue_date": days_ago(30),
        "amount": Decimal("1000.00"),
    }
    values.update(overrides)
    return InvoiceFields(**values)


def digital_fields(**overrides) -> InvoiceFields:
    values = {
        "invoice_number": DIGITAL_NUMBER,
        "issue_date": days_ago(30),
        "amount": Decimal("1060.00"),
    }
    values.update(overrides)
    return InvoiceFields(**values)


def ledger_row(fields: InvoiceFields, **overrides) -> LedgerInvoice:
    values = {
        "invoice_code": fields.invoice_code or "",
        "invoice_number": fields.invoice_number,
        "issue_date": fields.issue_date,
        "amount": Decimal("1000.00"),
        "total": Decimal("1060.00"),
        "check_code": "12345678901234567890",
        "seller_name": "北京某某商贸有限公司",
        "seller_tax_id": "9144030071526726XG",
        "buyer_name": "北京某某科技有限公司",
        "status": LedgerInvoice.Status.VALID,
        "uploaded_at": timezone.now() - datetime.timedelta(days=1),
    }
    values.update(overrides)
    return LedgerInvoice.objects.create(**values)
