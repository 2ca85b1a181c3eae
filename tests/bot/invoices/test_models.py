"""Invariants the database guards."""

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from bot.conversations.models import Follower
from bot.invoices.models import DailyCheckCount, InvoiceWatch, LedgerInvoice

pytestmark = pytest.mark.django_db


def _ledger(code="011002400211", number="12345678", **extra):
    values = {
        "invoice_code": code,
        "invoice_number": number,
        "issue_date": datetime.date(2024, 6, 1),
        "amount": Decimal("100"),
        "total": Decimal("106"),
    }
    return LedgerInvoice.objects.create(**{**values, **extra})


def test_one_ledger_row_per_code_and_number():
    _ledger()
    _ledger(number="12345679")
    _ledger(code="", number="24117000000212341234")
    with pytest.raises(IntegrityError), transaction.atomic():
        _ledger()
    with pytest.raises(IntegrityError), transaction.atomic():
        _ledger(code="", number="24117000000212341234")


def test_ledger_status_is_checked():
    with pytest.raises(IntegrityError), transaction.atomic():
        _ledger(status="lost")


def _watch(follower, status=InvoiceWatch.Status.ACTIVE, number="12345678"):
    now = timezone.now()
    return InvoiceWatch.objects.create(
        follower=follower,
        invoice_code="011002400211",
        invoice_number=number,
        status=status,
        next_check_at=now,
        expires_at=now + datetime.timedelta(days=3),
    )


def test_one_active_watch_per_follower_and_invoice():
    follower = Follower.objects.create(openid="o-m")
    other = Follower.objects.create(openid="o-n")
    _watch(follower)
    _watch(follower, status=InvoiceWatch.Status.EXPIRED)
    _watch(follower, status=InvoiceWatch.Status.FOUND)
    _watch(follower, number="87654321")
    _watch(other)
    with pytest.raises(IntegrityError), transaction.atomic():
        _watch(follower)


def test_one_daily_counter_per_invoice_and_day():
    day = datetime.date(2026, 1, 2)
    DailyCheckCount.objects.create(invoice_number="12345678", day=day)
    DailyCheckCount.objects.create(invoice_number="12345678", day=day + datetime.timedelta(1))
    with pytest.raises(IntegrityError), transaction.atomic():
        DailyCheckCount.objects.create(invoice_number="12345678", day=day)


def test_admin_pages_open(admin_client):
    ledger = _ledger()
    follower = Follower.objects.create(openid="o-admin")
    watch = _watch(follower)
    for url in (
        "/admin/invoices/ledgerinvoice/?q=12345678",
        f"/admin/invoices/ledgerinvoice/{ledger.pk}/change/",
        "/admin/invoices/verificationrecord/",
        "/admin/invoices/invoicewatch/",
        f"/admin/invoices/invoicewatch/{watch.pk}/change/",
    ):
        assert admin_client.get(url).status_code == 200, url
    assert admin_client.get("/admin/invoices/verificationrecord/add/").status_code == 403


def test_admin_marks_invoices_uploaded_and_cancels_watches(admin_client):
    waiting = _ledger()
    done = _ledger(number="12345679", uploaded_at=timezone.now() - datetime.timedelta(days=9))
    before = done.uploaded_at
    response = admin_client.post(
        "/admin/invoices/ledgerinvoice/",
        {"action": "mark_uploaded", "_selected_action": [waiting.pk, done.pk]},
    )
    assert response.status_code == 302
    waiting.refresh_from_db()
    done.refresh_from_db()
    assert waiting.uploaded_at is not None
    assert done.uploaded_at == before

    watch = _watch(Follower.objects.create(openid="o-admin-cancel"))
    admin_client.post(
        "/admin/invoices/invoicewatch/", {"action": "cancel", "_selected_action": [watch.pk]}
    )
    watch.refresh_from_db()
    assert watch.status == InvoiceWatch.Status.CANCELLED


def test_admin_recheck_now_finds_an_uploaded_invoice(admin_client, settings):
    settings.WECHAT_APP_SECRET = ""
    follower = Follower.objects.create(openid="o-admin-recheck", subscribed=True)
    watch = _watch(follower)
    InvoiceWatch.objects.filter(pk=watch.pk).update(
        issue_date=datetime.date(2024, 6, 1), check_code="567890", kind="electronic_ordinary"
    )
    _ledger(check_code="12345678901234567890", uploaded_at=timezone.now())
    admin_client.post(
        "/admin/invoices/invoicewatch/", {"action": "recheck_now", "_selected_action": [watch.pk]}
    )
    watch.refresh_from_db()
    assert watch.status == InvoiceWatch.Status.FOUND
    assert watch.last_result == "valid"
