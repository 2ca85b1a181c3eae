import datetime
from decimal import Decimal

import pytest

from bot.invoices.extraction import InvoiceFields, fields_extract
from tests.bot.invoices.cases import FIELDS, extraction_cases

# The case file's relative dates ("今天开的") and year checks are written for this day.
TODAY = datetime.date(2025, 6, 15)
CASES = extraction_cases()


def test_there_are_enough_varied_cases():
    assert len(CASES) >= 80
    assert len({c["text"] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c["text"][:30] for c in CASES])
def test_every_field_of_every_case(case):
    got = fields_extract(case["text"], today=TODAY).as_json()
    assert {f: got[f] for f in FIELDS} == {f: case[f] for f in FIELDS}


def test_result_is_typed_and_frozen():
    fields = fields_extract("代码011001900211 号码12345678 2025年5月13日 ¥1,060.5", today=TODAY)
    assert fields.issue_date == datetime.date(2025, 5, 13)
    assert fields.amount == Decimal("1060.50")
    assert fields.amount.as_tuple().exponent == -2
    with pytest.raises(AttributeError):
        fields.invoice_code = "x"  # type: ignore[misc]


@pytest.mark.parametrize("text", ["", "   ", "\x00\x01", "号码" * 5000, "1" * 5000, "¥" * 300])
def test_odd_input_does_not_crash(text):
    assert isinstance(fields_extract(text, today=TODAY), InvoiceFields)


def test_distractors_alone_give_nothing():
    text = "手机13812345678，座机010-62345678，订单号20250513123456，身份证11010519491231002X"
    fields = fields_extract(text, today=TODAY)
    assert fields.invoice_code is None
    assert fields.invoice_number is None
    assert fields.check_code is None


def test_year_in_code_after_today_is_kept_for_diagnosis():
    fields = fields_extract("代码011009900211 号码12345678", today=TODAY)
    assert fields.invoice_code == "011009900211"
    assert fields.region == "北京"


def test_default_today_is_the_local_date():
    fields = fields_extract("今天开的票，号码12345678")
    assert fields.issue_date is not None
