"""Every diagnosis, reached through invoice_check with the ledger backend, answers in Chinese."""

import datetime
from decimal import Decimal

import pytest
from django.template.loader import get_template

from bot.invoices.diagnosis import Diagnosis
from bot.invoices.models import LedgerInvoice, Result
from bot.invoices.services import invoice_check
from tests.bot.invoices.verify_support import (
    DIGITAL_NUMBER,
    days_ago,
    digital_fields,
    ledger_row,
    ordinary_fields,
    special_fields,
)

pytestmark = pytest.mark.django_db


def _check(fields, follower_id=None):
    return invoice_check(follower_id=follower_id, fields=fields)


@pytest.mark.parametrize("code", list(Diagnosis))
def test_every_diagnosis_has_a_template(code):
    assert get_template(f"bot/invoices/diagnosis/{code.value}.txt")


def test_valid_names_the_seller():
    fields = ordinary_fields()
    ledger_row(fields)
    outcome = _check(fields)
    assert outcome.diagnosis is Diagnosis.VALID
    assert outcome.result is Result.VALID
    assert "一致" in outcome.reply
    assert "北京某某商贸有限公司" in outcome.reply
    assert not outcome.needs_person and not outcome.should_watch


def test_not_beijing_names_the_region():
    outcome = _check(ordinary_fields(invoice_code="031002400211"))
    assert outcome.diagnosis is Diagnosis.NOT_BEIJING
    assert "上海" in outcome.reply
    assert "不是北京" in outcome.reply


def test_digital_typed_as_code_and_number():
    fields = digital_fields(invoice_code=DIGITAL_NUMBER[:12], invoice_number=DIGITAL_NUMBER[12:])
    outcome = _check(fields)
    assert outcome.diagnosis is Diagnosis.DIGITAL_SPLIT
    assert DIGITAL_NUMBER in outcome.reply
    assert "20位" in outcome.reply


def test_total_typed_for_a_special_invoice_by_label():
    outcome = _check(special_fields(amount=Decimal("1060.00"), amount_kind="total"))
    assert outcome.diagnosis is Diagnosis.WRONG_AMOUNT_KIND
    assert "不含税金额" in outcome.reply


def test_total_typed_for_a_special_invoice_found_by_the_ledger():
    fields = special_fields()
    ledger_row(fields, amount=Decimal("1000.00"), total=Decimal("1130.00"))
    outcome = _check(special_fields(amount=Decimal("1130.00")))
    assert outcome.diagnosis is Diagnosis.WRONG_AMOUNT_KIND
    assert outcome.result is Result.MISMATCH


def test_amount_excluding_tax_typed_for_a_digital_invoice():
    fields = digital_fields()
    ledger_row(fields, amount=Decimal("1000.00"), total=Decimal("1060.00"))
    outcome = _check(digital_fields(amount=Decimal("1000.00")))
    assert outcome.diagnosis is Diagnosis.WRONG_AMOUNT_KIND
    assert "价税合计" in outcome.reply


def test_issued_today():
    outcome = _check(ordinary_fields(issue_date=days_ago(0)))
    assert outcome.diagnosis is Diagnosis.ISSUED_TODAY
    assert outcome.result is Result.ISSUED_TODAY
    assert outcome.should_watch
    assert "第二天" in outcome.reply


def test_issued_but_not_uploaded():
    fields = ordinary_fields(issue_date=days_ago(2))
    ledger_row(fields, uploaded_at=None)
    outcome = _check(fields)
    assert outcome.diagnosis is Diagnosis.NOT_UPLOADED
    assert outcome.result is Result.NOT_FOUND
    assert outcome.should_watch and not outcome.needs_person
    assert "上传" in outcome.reply
    assert "北京某某商贸有限公司" in outcome.reply


def test_recent_not_found_is_watched_old_not_found_needs_a_person():
    recent = _check(ordinary_fields(issue_date=days_ago(2)))
    assert recent.diagnosis is Diagnosis.NOT_FOUND_RECENT
    assert recent.should_watch and not recent.needs_person
    old = _check(ordinary_fields(invoice_number="11112222", issue_date=days_ago(60)))
    assert old.diagnosis is Diagnosis.NOT_FOUND
    assert old.needs_person and not old.should_watch
    assert "12366" in old.reply


@pytest.mark.parametrize(
    ("status", "diagnosis", "result", "word"),
    [
        (LedgerInvoice.Status.VOIDED, Diagnosis.VOIDED, Result.VOIDED, "作废"),
        (LedgerInvoice.Status.RED_FLUSHED, Diagnosis.RED_FLUSHED, Result.RED_FLUSHED, "全额红冲"),
        (
            LedgerInvoice.Status.PARTLY_RED_FLUSHED,
            Diagnosis.PARTLY_RED_FLUSHED,
            Result.RED_FLUSHED,
            "部分红冲",
        ),
    ],
)
def test_voided_and_red_flushed(status, diagnosis, result, word):
    fields = ordinary_fields()
    ledger_row(fields, status=status)
    outcome = _check(fields)
    assert outcome.diagnosis is diagnosis
    assert outcome.result is result
    assert word in outcome.reply
    assert "重新开具" in outcome.reply


def test_check_limit_after_five_checks():
    fields = ordinary_fields()
    ledger_row(fields)
    diagnoses = [_check(fields).diagnosis for _ in range(6)]
    assert diagnoses == [Diagnosis.VALID] * 5 + [Diagnosis.CHECK_LIMIT]
    assert "明天" in _check(fields).reply


def test_too_old():
    outcome = _check(
        ordinary_fields(invoice_code="011001900211", issue_date=datetime.date(2019, 3, 1))
    )
    assert outcome.diagnosis is Diagnosis.TOO_OLD
    assert "5年" in outcome.reply


def test_not_a_vat_document():
    outcome = _check(ordinary_fields(invoice_code="11010121"))
    assert outcome.diagnosis is Diagnosis.NOT_VAT_DOCUMENT
    assert "财政票据" in outcome.reply


def test_mismatch_points_at_the_field():
    fields = ordinary_fields()
    ledger_row(fields)
    outcome = _check(ordinary_fields(check_code="000000"))
    assert outcome.diagnosis is Diagnosis.MISMATCH
    assert outcome.result is Result.MISMATCH
    assert "校验码" in outcome.reply
    outcome = _check(ordinary_fields(issue_date=days_ago(31)))
    assert outcome.diagnosis is Diagnosis.MISMATCH
    assert "开票日期" in outcome.reply


def test_upstream_unavailable(settings, fake_tencent):
    settings.INVOICE_VERIFY_BACKENDS = ["tencentcloud"]
    fake_tencent.answer_error("ResourceUnavailable.TaxNetworkError")
    outcome = _check(ordinary_fields())
    assert outcome.diagnosis is Diagnosis.UPSTREAM_UNAVAILABLE
    assert outcome.result is Result.UPSTREAM_ERROR
    assert "暂时不可用" in outcome.reply


def test_missing_fields_and_bad_input_and_bad_date():
    assert _check(ordinary_fields(check_code=None)).diagnosis is Diagnosis.MISSING_FIELDS
    assert "校验码后6位" in _check(ordinary_fields(check_code=None)).reply
    assert _check(ordinary_fields(invoice_number="123")).diagnosis is Diagnosis.BAD_INPUT
    outcome = _check(ordinary_fields(invoice_code="011009900211"))  # a 2099 batch
    assert outcome.diagnosis is Diagnosis.BAD_DATE
    assert outcome.result is Result.BAD_INPUT


def test_replies_are_plain_text():
    fields = ordinary_fields()
    ledger_row(fields, seller_name="A&B <商贸>")
    reply = _check(fields).reply
    assert "A&B <商贸>" in reply
    assert "{%" not in reply and "&amp;" not in reply


def test_a_code_of_no_region_is_named_before_any_call():
    outcome = _check(special_fields(invoice_code="9900241130"))
    assert outcome.diagnosis is Diagnosis.BAD_INPUT
    assert "“9900241130”不是有效的发票代码：第1–4位是地区码，“9900”不对应任何省市" in outcome.reply


@pytest.mark.parametrize(
    ("fields", "diagnosis"),
    [
        (
            ordinary_fields(invoice_code="011001900211", issue_date=datetime.date(2019, 3, 1)),
            "too_old",
        ),
        (ordinary_fields(issue_date=datetime.date(2023, 12, 31)), "bad_date"),  # before its code
    ],
)
def test_a_date_read_from_a_qr_code_is_no_typing_slip(fields, diagnosis):
    typed = _check(fields)
    read = invoice_check(follower_id=None, fields=fields, read_from_qr=["issue_date"])
    assert typed.diagnosis == read.diagnosis == diagnosis
    assert "输错" in typed.reply
    assert "从发票二维码读到的开票日期" in read.reply and "输错" not in read.reply
