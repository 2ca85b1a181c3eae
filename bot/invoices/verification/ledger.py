"""The embedded backend: the invoices issued through the operator's platform."""

from django.utils import timezone

from bot.invoices.decoding import extra_field_for
from bot.invoices.kinds import ExtraField
from bot.invoices.models import LedgerInvoice, Result
from bot.invoices.verification.base import VerificationBackend, VerifyRequest, VerifyResult

_STATUS_RESULT = {
    LedgerInvoice.Status.VOIDED: (Result.VOIDED, ""),
    LedgerInvoice.Status.RED_FLUSHED: (Result.RED_FLUSHED, "full"),
    LedgerInvoice.Status.PARTLY_RED_FLUSHED: (Result.RED_FLUSHED, "partial"),
}


def _details(invoice: LedgerInvoice) -> dict:
    return {
        "seller_name": invoice.seller_name,
        "seller_tax_id": invoice.seller_tax_id,
        "buyer_name": invoice.buyer_name,
        "amount": f"{invoice.amount:.2f}",
        "total": f"{invoice.total:.2f}",
        "status": invoice.status,
    }


def _mismatch(request: VerifyRequest, invoice: LedgerInvoice) -> str | None:
    """Name the first field that does not match the ledger, or None."""
    if request.issue_date != invoice.issue_date:
        return "issue_date"
    needed = extra_field_for(request.kind)
    if needed is ExtraField.CHECK_CODE:
        if not invoice.check_code.endswith(request.check_code or "\0"):
            return "check_code"
        return None
    if needed is None or request.amount is None:
        return None
    expected = invoice.total if needed is ExtraField.TOTAL_INCLUDING_TAX else invoice.amount
    if request.amount == expected:
        return None
    other = invoice.amount if needed is ExtraField.TOTAL_INCLUDING_TAX else invoice.total
    # The commonest slip: the total typed where the amount excluding tax belongs, or back.
    return "amount_kind" if request.amount == other else "amount"


class LedgerBackend(VerificationBackend):
    name = "ledger"
    is_local = True

    def verify(self, request: VerifyRequest) -> VerifyResult:
        invoice = LedgerInvoice.objects.filter(
            invoice_code=request.invoice_code, invoice_number=request.invoice_number
        ).first()
        if invoice is None:
            return VerifyResult(Result.NOT_FOUND, self.name)
        mismatch = _mismatch(request, invoice)
        if invoice.uploaded_at is None or invoice.uploaded_at > timezone.now():
            # Issued here but not in the tax system yet: the tax platform says 查无此票.
            # Who issued it is told only to someone who has the invoice's fields right.
            known = {} if mismatch else _details(invoice)
            return VerifyResult(Result.NOT_FOUND, self.name, {**known, "issued_not_uploaded": True})
        if mismatch:
            return VerifyResult(Result.MISMATCH, self.name, {"mismatch": mismatch})
        details = _details(invoice)
        result, red_flush = _STATUS_RESULT.get(invoice.status, (Result.VALID, ""))
        if red_flush:
            details["red_flush"] = red_flush
        return VerifyResult(result, self.name, details)
