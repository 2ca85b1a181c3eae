"""Every verification record names its issuer (the seller) when it is known."""

import pytest

from bot.invoices.models import Result, VerificationRecord
from bot.invoices.services import invoice_check, invoice_check_push_run, invoice_check_queue
from tests.bot.invoices.verify_support import days_ago, ledger_row, ordinary_fields

pytestmark = pytest.mark.django_db

GIVEN_TAX_ID = "91110108MA01ABCD2X"


def _record(outcome) -> VerificationRecord:
    return VerificationRecord.objects.get(pk=outcome.record_id)


def test_the_tax_id_given_with_the_fields_is_the_issuer():
    outcome = invoice_check(follower_id=None, fields=ordinary_fields(seller_tax_id=GIVEN_TAX_ID))
    record = _record(outcome)
    assert (record.result, record.issuer) == (Result.NOT_FOUND, GIVEN_TAX_ID)


def test_the_given_tax_id_wins_over_the_ledger():
    fields = ordinary_fields(seller_tax_id=f" {GIVEN_TAX_ID} ")
    ledger_row(fields)
    assert _record(invoice_check(follower_id=None, fields=fields)).issuer == GIVEN_TAX_ID


def test_an_invoice_issued_but_not_uploaded_names_the_ledger_seller(follower):
    fields = ordinary_fields(issue_date=days_ago(1))
    ledger_row(fields, uploaded_at=None)
    record = _record(invoice_check(follower_id=follower.pk, fields=fields))
    assert (record.result, record.issuer) == (Result.NOT_FOUND, "9144030071526726XG")


def test_the_ledger_seller_name_stands_in_for_a_missing_tax_id():
    fields = ordinary_fields()
    ledger_row(fields, seller_tax_id="", seller_name="北京某某商贸有限公司")
    record = _record(invoice_check(follower_id=None, fields=fields))
    assert (record.result, record.issuer) == (Result.VALID, "北京某某商贸有限公司")


def test_unknown_invoice_without_a_tax_id_has_no_issuer():
    record = _record(invoice_check(follower_id=None, fields=ordinary_fields()))
    assert (record.result, record.issuer) == (Result.NOT_FOUND, "")


def test_a_queued_check_keeps_the_given_tax_id(
    follower, settings, django_capture_on_commit_callbacks
):
    settings.WECHAT_APP_SECRET = ""
    fields = ordinary_fields(seller_tax_id=GIVEN_TAX_ID)
    ledger_row(fields, seller_tax_id="OTHER-TAX-ID")
    with django_capture_on_commit_callbacks(execute=False):
        record = invoice_check_queue(follower_id=follower.pk, fields=fields)
    assert VerificationRecord.objects.get(pk=record.pk).issuer == GIVEN_TAX_ID
    invoice_check_push_run(record_id=record.pk)
    record.refresh_from_db()
    assert (record.result, record.issuer) == (Result.VALID, GIVEN_TAX_ID)
