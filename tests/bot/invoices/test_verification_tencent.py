"""The Tencent Cloud adapter against a local fake of VatInvoiceVerifyNew over real HTTP."""

from decimal import Decimal

import pytest

from bot.invoices.models import Result
from bot.invoices.verification import VerifyRequest, verification_is_fast
from bot.invoices.verification.tencentcloud import TencentCloudBackend, error_result
from tests.bot.invoices.verify_support import (
    CODE_ORDINARY,
    CODE_SPECIAL,
    DIGITAL_NUMBER,
    days_ago,
)


def _ordinary() -> VerifyRequest:
    return VerifyRequest(
        invoice_code=CODE_ORDINARY,
        invoice_number="12345678",
        issue_date=days_ago(30),
        kind="electronic_ordinary",
        check_code="567890",
    )


def test_request_carries_check_code_and_kind_not_additional(fake_tencent):
    fake_tencent.answer_invoice()
    result = TencentCloudBackend().verify(_ordinary())
    assert result.result is Result.VALID
    [call] = fake_tencent.calls
    assert call.action == "VatInvoiceVerifyNew"
    assert call.headers["X-TC-Version"] == "2018-11-19"
    assert call.headers["Authorization"].startswith("TC3-HMAC-SHA256 Credential=AKIDfake/")
    assert call.body == {
        "InvoiceNo": "12345678",
        "InvoiceDate": days_ago(30).isoformat(),
        "InvoiceCode": CODE_ORDINARY,
        "InvoiceKind": "10",
        "CheckCode": "567890",
    }
    assert "Additional" not in call.body
    assert result.details["seller_name"] == "北京某某商贸有限公司"
    assert result.details["total"] == "1060.00"


def test_special_sends_amount_excluding_tax(fake_tencent):
    fake_tencent.answer_invoice(Type="01")
    request = VerifyRequest(
        invoice_code=CODE_SPECIAL,
        invoice_number="87654321",
        issue_date=days_ago(3),
        kind="special",
        amount=Decimal("1000"),
    )
    TencentCloudBackend().verify(request)
    body = fake_tencent.calls[0].body
    assert body["Amount"] == "1000.00"
    assert body["InvoiceKind"] == "01"
    assert "CheckCode" not in body


def test_digital_sends_empty_code_and_total(fake_tencent):
    fake_tencent.answer_invoice(Code="", Number=DIGITAL_NUMBER)
    request = VerifyRequest(
        invoice_code="",
        invoice_number=DIGITAL_NUMBER,
        issue_date=days_ago(3),
        kind="digital_ordinary",
        amount=Decimal("1060.5"),
    )
    TencentCloudBackend().verify(request)
    body = fake_tencent.calls[0].body
    assert body["InvoiceCode"] == ""
    assert body["InvoiceNo"] == DIGITAL_NUMBER
    assert body["Amount"] == "1060.50"


@pytest.mark.parametrize(
    ("flag", "result", "red_flush"),
    [
        ("N", Result.VALID, None),
        ("Y", Result.VOIDED, None),
        ("H", Result.RED_FLUSHED, "full"),
        ("HF", Result.RED_FLUSHED, "full"),
        ("HP", Result.RED_FLUSHED, "partial"),
    ],
)
def test_abandoned_flag_is_normalised(fake_tencent, flag, result, red_flush):
    fake_tencent.answer_invoice(IsAbandoned=flag)
    answer = TencentCloudBackend().verify(_ordinary())
    assert answer.result is result
    assert answer.details.get("red_flush") == red_flush


@pytest.mark.parametrize(
    ("code", "result"),
    [
        ("ResourceNotFound.NoInvoice", Result.NOT_FOUND),
        ("FailedOperation.InvoiceMismatch", Result.MISMATCH),
        ("FailedOperation.CountLimitError", Result.TOO_MANY_CHECKS),
        ("ResourceNotFound.NotSupportCurrentInvoiceQuery", Result.ISSUED_TODAY),
        ("InvalidParameterValue.InvalidParameterValueLimit", Result.BAD_INPUT),
        ("ResourceUnavailable.TaxNetworkError", Result.UPSTREAM_ERROR),
        ("FailedOperation.UnKnowError", Result.UPSTREAM_ERROR),
        ("AuthFailure.SignatureFailure", Result.UPSTREAM_ERROR),
        ("FailedOperation.ArrearsError", Result.UPSTREAM_ERROR),
    ],
)
def test_error_codes_are_normalised(fake_tencent, code, result):
    fake_tencent.answer_error(code, "描述")
    answer = TencentCloudBackend().verify(_ordinary())
    assert answer.result is result
    assert answer.error.startswith(code)
    assert answer.details["request_id"] == "req-fake-0001"


def test_timeout_is_an_upstream_error(fake_tencent, settings):
    settings.INVOICE_VERIFY_TIMEOUT = 1
    fake_tencent.answer_after(3)
    answer = TencentCloudBackend().verify(_ordinary())
    assert answer.result is Result.UPSTREAM_ERROR
    assert answer.error


def test_http_failure_is_an_upstream_error(fake_tencent):
    fake_tencent.answer_http_error(502)
    answer = TencentCloudBackend().verify(_ordinary())
    assert answer.result is Result.UPSTREAM_ERROR


def test_unreachable_endpoint_is_an_upstream_error(settings, fake_tencent):
    fake_tencent.__exit__()
    answer = TencentCloudBackend().verify(_ordinary())
    assert answer.result is Result.UPSTREAM_ERROR


def test_missing_credentials_make_no_call(fake_tencent, settings):
    settings.TENCENTCLOUD_SECRET_KEY = ""
    answer = TencentCloudBackend().verify(_ordinary())
    assert answer.result is Result.UPSTREAM_ERROR
    assert fake_tencent.calls == []


def test_unknown_error_family_maps_to_upstream():
    assert error_result("LimitExceeded.TooLargeFileError") is Result.UPSTREAM_ERROR
    assert error_result("InvalidParameter") is Result.BAD_INPUT


def test_tencent_backend_is_not_fast(settings):
    settings.INVOICE_VERIFY_BACKENDS = ["ledger"]
    assert verification_is_fast() is True
    settings.INVOICE_VERIFY_BACKENDS = ["ledger", "tencentcloud"]
    assert verification_is_fast() is False


@pytest.mark.django_db
def test_ledger_then_tencent_through_invoice_check(fake_tencent, settings):
    from bot.invoices.models import VerificationRecord
    from bot.invoices.services import invoice_check
    from tests.bot.invoices.verify_support import ordinary_fields

    settings.INVOICE_VERIFY_BACKENDS = ["ledger", "tencentcloud"]
    fake_tencent.answer_invoice(IsAbandoned="Y")
    outcome = invoice_check(follower_id=None, fields=ordinary_fields())
    assert outcome.diagnosis.value == "voided"
    record = VerificationRecord.objects.get(pk=outcome.record_id)
    assert record.backend == "tencentcloud"
    assert [a["backend"] for a in record.details["attempts"]] == ["ledger", "tencentcloud"]
    assert len(fake_tencent.calls) == 1
