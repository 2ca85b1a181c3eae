"""The ledger backend and the ordered chain of backends."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from bot.invoices.models import LedgerInvoice, Result
from bot.invoices.verification import VerifyRequest, verify_chain
from bot.invoices.verification.ledger import LedgerBackend
from tests.bot.invoices.fake_backends import FIXED_PATH, FixedBackend
from tests.bot.invoices.verify_support import (
    CODE_ORDINARY,
    CODE_SPECIAL,
    DIGITAL_NUMBER,
    days_ago,
    digital_fields,
    ledger_row,
    ordinary_fields,
    special_fields,
)

pytestmark = pytest.mark.django_db


def _request(**overrides) -> VerifyRequest:
    values = {
        "invoice_code": CODE_ORDINARY,
        "invoice_number": "12345678",
        "issue_date": days_ago(30),
        "kind": "electronic_ordinary",
        "check_code": "567890",
    }
    return VerifyRequest(**{**values, **overrides})


def test_not_in_ledger_is_not_found():
    assert LedgerBackend().verify(_request()).result is Result.NOT_FOUND


def test_uploaded_valid_invoice_matches():
    ledger_row(ordinary_fields())
    answer = LedgerBackend().verify(_request())
    assert answer.result is Result.VALID
    assert answer.details["seller_name"] == "北京某某商贸有限公司"
    assert answer.details["total"] == "1060.00"


@pytest.mark.parametrize("uploaded_at", [None, "future"])
def test_not_uploaded_yet_is_not_found_with_a_reason(uploaded_at):
    when = timezone.now() + datetime.timedelta(hours=2) if uploaded_at else None
    ledger_row(ordinary_fields(), uploaded_at=when)
    answer = LedgerBackend().verify(_request())
    assert answer.result is Result.NOT_FOUND
    assert answer.details["issued_not_uploaded"] is True


def test_not_uploaded_names_the_seller_only_when_the_fields_match():
    ledger_row(ordinary_fields(), uploaded_at=None)
    right = LedgerBackend().verify(_request())
    assert right.details["seller_name"] == "北京某某商贸有限公司"
    wrong = LedgerBackend().verify(_request(check_code="000000"))
    assert wrong.result is Result.NOT_FOUND
    assert wrong.details == {"issued_not_uploaded": True}


def test_mismatch_reveals_nothing_about_the_invoice():
    ledger_row(ordinary_fields())
    answer = LedgerBackend().verify(_request(check_code="111111"))
    assert answer.result is Result.MISMATCH
    assert answer.details == {"mismatch": "check_code"}


def test_special_compares_amount_excluding_tax():
    fields = special_fields()
    ledger_row(fields, amount=Decimal("1000.00"), total=Decimal("1130.00"))
    base = {"invoice_code": CODE_SPECIAL, "invoice_number": "87654321", "kind": "special"}
    ok = LedgerBackend().verify(_request(**base, amount=Decimal("1000"), check_code=""))
    assert ok.result is Result.VALID
    swapped = LedgerBackend().verify(_request(**base, amount=Decimal("1130"), check_code=""))
    assert swapped.details == {"mismatch": "amount_kind"}
    wrong = LedgerBackend().verify(_request(**base, amount=Decimal("999"), check_code=""))
    assert wrong.details == {"mismatch": "amount"}


def test_digital_compares_total_and_uses_empty_code():
    ledger_row(digital_fields(), total=Decimal("1060.00"))
    request = _request(
        invoice_code="", invoice_number=DIGITAL_NUMBER, kind="digital", amount=Decimal("1060")
    )
    assert LedgerBackend().verify(request).result is Result.VALID


def test_status_is_checked_after_the_fields():
    ledger_row(ordinary_fields(), status=LedgerInvoice.Status.VOIDED)
    assert LedgerBackend().verify(_request()).result is Result.VOIDED
    assert LedgerBackend().verify(_request(check_code="000000")).result is Result.MISMATCH


@pytest.fixture
def fixed(settings):
    FixedBackend.answers = []
    FixedBackend.requests = []
    settings.INVOICE_VERIFY_BACKENDS = ["ledger", FIXED_PATH]
    return FixedBackend


def test_not_found_in_the_first_lets_the_next_try(fixed):
    fixed.answers = [Result.VALID]
    chain = verify_chain(_request())
    assert [a.backend for a in chain.attempts] == ["ledger", "fixed"]
    assert chain.final.result is Result.VALID
    assert chain.final.backend == "fixed"


def test_a_decisive_first_answer_stops_the_chain(fixed):
    ledger_row(ordinary_fields())
    fixed.answers = [Result.NOT_FOUND]
    chain = verify_chain(_request())
    assert [a.backend for a in chain.attempts] == ["ledger"]
    assert fixed.answers == [Result.NOT_FOUND]
    assert fixed.requests == []


def test_not_uploaded_beats_an_upstream_error_later(fixed):
    ledger_row(ordinary_fields(), uploaded_at=None)
    fixed.answers = [Result.UPSTREAM_ERROR]
    chain = verify_chain(_request())
    assert chain.final.backend == "ledger"
    assert chain.issued_not_uploaded


def test_upstream_error_beats_plain_not_found(fixed):
    fixed.answers = [Result.UPSTREAM_ERROR]
    assert verify_chain(_request()).final.result is Result.UPSTREAM_ERROR


def test_a_crashing_backend_is_an_upstream_error(fixed):
    fixed.answers = [RuntimeError("bug")]
    chain = verify_chain(_request())
    assert chain.final.result is Result.UPSTREAM_ERROR
    assert chain.final.backend == "fixed"
    assert "bug" in chain.final.error


def test_no_backend_configured_is_an_upstream_error(settings):
    settings.INVOICE_VERIFY_BACKENDS = []
    assert verify_chain(_request()).final.result is Result.UPSTREAM_ERROR
