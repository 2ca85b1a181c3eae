"""Reads of invoice records: ledger, verification history, daily counts, watches."""

import datetime

from django.db.models import Count, QuerySet

from bot.invoices.models import DailyCheckCount, InvoiceWatch, LedgerInvoice, VerificationRecord


def ledger_invoice_find(*, invoice_code: str, invoice_number: str) -> LedgerInvoice | None:
    return LedgerInvoice.objects.filter(
        invoice_code=invoice_code or "", invoice_number=invoice_number
    ).first()


def ledger_invoice_list(*, number: str = "") -> QuerySet[LedgerInvoice]:
    invoices = LedgerInvoice.objects.order_by("-issue_date", "-id")
    return invoices.filter(invoice_number=number) if number else invoices


def daily_check_count(*, invoice_code: str, invoice_number: str, day: datetime.date) -> int:
    """Checks that reached a backend for this invoice on this day."""
    row = DailyCheckCount.objects.filter(
        invoice_code=invoice_code or "", invoice_number=invoice_number, day=day
    ).first()
    return row.count if row else 0


def watch_checks_on(*, watch: InvoiceWatch, since: datetime.datetime) -> int:
    """Re-checks this watch's invoice has had from watches since a moment."""
    return VerificationRecord.objects.filter(
        source=VerificationRecord.Source.WATCH,
        follower_id=watch.follower_id,
        invoice_code=watch.invoice_code,
        invoice_number=watch.invoice_number,
        created_at__gte=since,
    ).count()


def watches_due(*, now: datetime.datetime, limit: int = 500) -> list[int]:
    """Ids of active watches whose next check time has come, oldest first."""
    return list(
        InvoiceWatch.objects.filter(status=InvoiceWatch.Status.ACTIVE, next_check_at__lte=now)
        .order_by("next_check_at")
        .values_list("id", flat=True)[:limit]
    )


def watches_active() -> list[int]:
    return list(
        InvoiceWatch.objects.filter(status=InvoiceWatch.Status.ACTIVE)
        .order_by("id")
        .values_list("id", flat=True)
    )


def verification_results_by_region(*, since: datetime.datetime) -> list[dict]:
    """Counts of results per region since a moment (incident detection reads this)."""
    return list(
        VerificationRecord.objects.filter(created_at__gte=since)
        .exclude(result=VerificationRecord.PENDING)
        .values("region", "result")
        .annotate(count=Count("id"))
        .order_by("region", "result")
    )


def verification_latest_of(
    *, follower_id: int, since: datetime.datetime
) -> VerificationRecord | None:
    """The follower's latest check from the dialog since a moment (the invoice they mean)."""
    return (
        VerificationRecord.objects.filter(
            follower_id=follower_id,
            source=VerificationRecord.Source.DIALOG,
            created_at__gte=since,
        )
        .exclude(invoice_number="")
        .order_by("-created_at", "-id")
        .first()
    )
