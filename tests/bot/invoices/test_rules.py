"""The rules applied before any verification call, at their boundaries."""

import datetime
from decimal import Decimal

import pytest

from bot.invoices.decoding import invoice_decode
from bot.invoices.extraction import InvoiceFields
from bot.invoices.models import Result
from bot.invoices.rules import Rule, rules_check, years_before
from tests.bot.invoices.verify_support import CODE_ORDINARY, CODE_SPECIAL, DIGITAL_NUMBER

TODAY = datetime.date(2026, 6, 15)


def _check(fields: InvoiceFields, *, checks_today: int = 0, today=TODAY):
    decoded = invoice_decode(code=fields.invoice_code, number=fields.invoice_number, today=today)
    kind = fields.kind or decoded.kind.value
    return rules_check(
        fields=fields, decoded=decoded, kind=kind, today=today, checks_today=checks_today
    )


def _ordinary(**overrides) -> InvoiceFields:
    values = {
        "invoice_code": CODE_ORDINARY,
        "invoice_number": "12345678",
        "issue_date": datetime.date(2026, 6, 1),
        "check_code": "567890",
    }
    return InvoiceFields(**{**values, **overrides})


def _special(**overrides) -> InvoiceFields:
    values = {
        "invoice_code": CODE_SPECIAL,
        "invoice_number": "87654321",
        "issue_date": datetime.date(2026, 6, 1),
        "amount": Decimal("1000.00"),
    }
    return InvoiceFields(**{**values, **overrides})


def test_complete_fields_pass():
    assert _check(_ordinary()) is None
    assert _check(_special()) is None


@pytest.mark.parametrize(("used", "stopped"), [(0, False), (4, False), (5, True), (6, True)])
def test_five_checks_a_day(used, stopped):
    stop = _check(_ordinary(), checks_today=used)
    assert (stop is not None) is stopped
    if stopped:
        assert stop.rule is Rule.CHECK_LIMIT
        assert stop.result is Result.TOO_MANY_CHECKS


def test_not_on_the_day_of_issue_but_the_day_after():
    stop = _check(_ordinary(issue_date=TODAY))
    assert stop.rule is Rule.ISSUED_TODAY
    assert stop.result is Result.ISSUED_TODAY
    assert _check(_ordinary(issue_date=TODAY - datetime.timedelta(days=1))) is None


def test_five_years_boundary():
    code = "011002100211"  # 2021 batch, Beijing, electronic ordinary
    oldest = datetime.date(2021, 6, 15)
    assert _check(_ordinary(invoice_code=code, issue_date=oldest)) is None
    stop = _check(_ordinary(invoice_code=code, issue_date=oldest - datetime.timedelta(days=1)))
    assert stop.rule is Rule.TOO_OLD
    assert stop.result is Result.TOO_OLD


def test_years_before_handles_leap_day():
    assert years_before(datetime.date(2028, 2, 29), 5) == datetime.date(2023, 2, 28)


def test_future_date_and_impossible_code_year():
    stop = _check(_ordinary(issue_date=TODAY + datetime.timedelta(days=1)))
    assert stop.rule is Rule.IMPOSSIBLE_DATE
    assert stop.result is Result.BAD_INPUT
    stop = _check(_ordinary(invoice_code="011002900211"))  # a 2029 batch in 2026
    assert stop.rule is Rule.IMPOSSIBLE_DATE
    # Issued before the year its code was printed.
    stop = _check(_ordinary(issue_date=datetime.date(2023, 12, 31)))
    assert stop.rule is Rule.IMPOSSIBLE_DATE


def test_ordinary_needs_the_check_code():
    stop = _check(_ordinary(check_code=None))
    assert stop.rule is Rule.MISSING_EXTRA
    assert stop.context["needed"] == "check_code"
    assert _check(_ordinary(check_code="12345")).rule is Rule.MISSING_EXTRA


def test_special_needs_the_amount_excluding_tax():
    stop = _check(_special(amount=None))
    assert stop.rule is Rule.MISSING_EXTRA
    assert stop.context["needed"] == "amount_excluding_tax"
    stop = _check(_special(amount_kind="total"))
    assert stop.rule is Rule.WRONG_AMOUNT_KIND
    assert _check(_special(amount_kind="excluding_tax")) is None


def test_digital_needs_the_total():
    fields = InvoiceFields(
        invoice_number=DIGITAL_NUMBER,
        issue_date=datetime.date(2026, 6, 1),
        amount=Decimal("1060"),
    )
    assert _check(fields) is None
    from dataclasses import replace

    assert _check(replace(fields, amount_kind="excluding_tax")).rule is Rule.WRONG_AMOUNT_KIND
    assert _check(replace(fields, amount=None)).rule is Rule.MISSING_EXTRA


def test_digital_number_split_into_code_and_number():
    fields = InvoiceFields(
        invoice_code=DIGITAL_NUMBER[:12],
        invoice_number=DIGITAL_NUMBER[12:],
        issue_date=datetime.date(2026, 6, 1),
        amount=Decimal("1060"),
    )
    stop = _check(fields)
    assert stop.rule is Rule.DIGITAL_SPLIT
    assert stop.context["joined"] == DIGITAL_NUMBER


def test_other_region_is_named():
    stop = _check(_ordinary(invoice_code="031002400211"))
    assert stop.rule is Rule.OTHER_REGION
    assert stop.context["region"] == "上海"
    stop = _check(_special(invoice_code="4403241130"))
    assert stop.context["region"] == "深圳"


@pytest.mark.parametrize("code", ["011002400299", "11010121", "6100241130"[:8]])
def test_not_a_vat_document(code):
    assert _check(_ordinary(invoice_code=code)).rule is Rule.NOT_VAT


@pytest.mark.parametrize(
    ("overrides", "rule"),
    [
        ({"invoice_number": None}, Rule.MISSING_NUMBER),
        ({"issue_date": None}, Rule.MISSING_DATE),
        ({"invoice_number": "1234567"}, Rule.BAD_NUMBER),
        ({"invoice_code": "0110024002"[:9]}, Rule.BAD_CODE),
        ({"invoice_code": "", "invoice_number": "12345678"}, Rule.BAD_NUMBER),
    ],
)
def test_incomplete_or_malformed(overrides, rule):
    assert _check(_ordinary(**overrides)).rule is rule


def test_a_code_whose_region_digits_name_no_region_is_a_bad_code():
    stop = _check(_special(invoice_code="9900241130"))
    assert stop.rule is Rule.BAD_CODE and stop.result is Result.BAD_INPUT
    assert stop.context["rejected"] == "9900241130"
    assert stop.context["flaws"] == [
        {"problem": "unknown_region", "first": 1, "last": 4, "digits": "9900", "year": None}
    ]
