import datetime

import pytest

from bot.invoices.decoding import (
    Problem,
    code_decode,
    compact_date,
    digital_number_decode,
    extra_field_for,
    id_card_is_valid,
    invoice_decode,
    looks_like_code,
    looks_like_digital_number,
    looks_like_digital_prefix,
    uscc_is_valid,
)
from bot.invoices.kinds import ExtraField, Kind

TODAY = datetime.date(2025, 6, 15)


@pytest.mark.parametrize(
    ("code", "kind", "region", "year"),
    [
        ("011001900211", Kind.ELECTRONIC_ORDINARY, "北京", 2019),
        ("011001605111", Kind.ELECTRONIC_ORDINARY, "北京", 2016),
        ("031001800104", Kind.ORDINARY, "上海", 2018),
        ("012001900105", Kind.ORDINARY, "天津", 2019),
        ("034001900106", Kind.ROLL, "安徽", 2019),
        ("021021900107", Kind.ROLL, "大连", 2019),
        ("012001900612", Kind.TOLL, "天津", 2019),
        ("044031900113", Kind.ELECTRONIC_SPECIAL, "深圳", 2019),
        ("037022100117", Kind.USED_CAR, "青岛", 2021),
        ("033021900111", Kind.ELECTRONIC_ORDINARY, "宁波", 2019),
        ("035021900111", Kind.ELECTRONIC_ORDINARY, "厦门", 2019),
        ("015001900111", Kind.ELECTRONIC_ORDINARY, "内蒙古", 2019),
        ("065001900111", Kind.ELECTRONIC_ORDINARY, "新疆", 2019),
        ("1100174320", Kind.ORDINARY, "北京", 2017),
        ("4300171130", Kind.SPECIAL, "湖南", 2017),
        ("1100195130", Kind.SPECIAL, "北京", 2019),
        ("1200194360", Kind.ORDINARY, "天津", 2019),
        ("3502192270", Kind.FREIGHT, "厦门", 2019),
        ("2102201130", Kind.SPECIAL, "大连", 2020),
        ("3302192130", Kind.SPECIAL, "宁波", 2019),
        ("3702191130", Kind.SPECIAL, "青岛", 2019),
        ("4403191130", Kind.SPECIAL, "深圳", 2019),
        ("4401191130", Kind.SPECIAL, "广东", 2019),  # Guangzhou is not a planned city
        ("3301191130", Kind.SPECIAL, "浙江", 2019),
    ],
)
def test_kind_region_and_year_of_codes(code, kind, region, year):
    decoded = code_decode(code, today=TODAY)
    assert (decoded.kind, decoded.region, decoded.year) == (kind, region, year)
    assert decoded.problems == ()


@pytest.mark.parametrize(
    ("code", "region"),
    [
        ("144031539110", "深圳"),
        ("131001570151", "上海"),
        ("133011501118", "浙江"),
        ("111001571071", "北京"),
    ],
)
def test_one_prefix_exceptions_are_electronic_ordinary(code, region):
    decoded = code_decode(code, today=TODAY)
    assert (decoded.kind, decoded.region) == (Kind.ELECTRONIC_ORDINARY, region)


def test_planned_city_codes_are_four_digits_and_provinces_two():
    assert code_decode("4403191130", today=TODAY).region_code == "4403"
    assert code_decode("4401191130", today=TODAY).region_code == "4400"
    assert code_decode("011051900211", today=TODAY).region_code == "1100"


@pytest.mark.parametrize(
    ("number", "region", "year"),
    [
        ("24117000000212341234", "北京", 2024),
        ("24312000000136634917", "上海", 2024),
        ("25127000000012345678", "天津", 2025),
        ("25442000000123456789", "广东", 2025),
        ("23157000000000000001", "内蒙古", 2023),
    ],
)
def test_digital_numbers(number, region, year):
    decoded = invoice_decode(code=None, number=number, today=TODAY)
    assert (decoded.kind, decoded.region, decoded.year) == (Kind.DIGITAL, region, year)
    assert extra_field_for(decoded.kind) is ExtraField.TOTAL_INCLUDING_TAX


def test_digital_kind_from_a_qr_is_kept():
    decoded = digital_number_decode("24117000000212341234", kind=Kind.DIGITAL_SPECIAL, today=TODAY)
    assert decoded.kind is Kind.DIGITAL_SPECIAL


def test_digital_number_typed_as_code_and_number_is_recognised():
    decoded = invoice_decode(code="241170000002", number="12341234", today=TODAY)
    assert decoded.kind is Kind.DIGITAL and decoded.region == "北京"
    assert Problem.DIGITAL_SPLIT in decoded.problems


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("011009900211", Problem.YEAR_IN_FUTURE),  # 2099
        ("1100991130", Problem.YEAR_IN_FUTURE),
        ("019901900211", Problem.UNKNOWN_REGION),
        ("9900191130", Problem.UNKNOWN_REGION),
        ("011001900299", Problem.UNKNOWN_KIND),
        ("1100194430", Problem.UNKNOWN_KIND),
        ("01100190021", Problem.BAD_LENGTH),
        ("0110019002AB", Problem.NOT_DIGITS),
    ],
)
def test_impossible_codes_are_flagged_not_rejected(code, problem):
    decoded = code_decode(code, today=TODAY)
    assert problem in decoded.problems
    assert not looks_like_code(code, today=TODAY)


def test_year_sanity_follows_today():
    assert Problem.YEAR_IN_FUTURE in code_decode("011002600211", today=TODAY).problems
    assert code_decode("011002600211", today=datetime.date(2026, 1, 2)).problems == ()
    assert not looks_like_digital_number("26117000000212341234", today=TODAY)
    assert looks_like_digital_number("25117000000212341234", today=TODAY)
    future = digital_number_decode("99117000000212341234", today=TODAY)
    assert Problem.YEAR_IN_FUTURE in future.problems


@pytest.mark.parametrize(
    ("kind", "extra"),
    [
        ("special", ExtraField.AMOUNT_EXCLUDING_TAX),
        ("electronic_special", ExtraField.AMOUNT_EXCLUDING_TAX),
        ("ordinary", ExtraField.CHECK_CODE),
        ("electronic_ordinary", ExtraField.CHECK_CODE),
        ("roll", ExtraField.CHECK_CODE),
        ("toll", ExtraField.CHECK_CODE),
        ("digital_special", ExtraField.TOTAL_INCLUDING_TAX),
        ("digital_ordinary", ExtraField.TOTAL_INCLUDING_TAX),
        ("digital", ExtraField.TOTAL_INCLUDING_TAX),
        ("motor_vehicle", ExtraField.VEHICLE_PRICE),
        ("unknown", None),
        ("no-such-kind", None),
        (None, None),
    ],
)
def test_extra_field_by_kind(kind, extra):
    assert extra_field_for(kind) is extra


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        ("9144030071526726XG", True),
        ("91110000100000000X", False),
        ("9144030071526726XH", False),
        ("9144030071526726X", False),
        ("9144030071526726XI", False),  # I is not in the character set
        ("", False),
        (None, False),
    ],
)
def test_uscc_check_digit(code, valid):
    assert uscc_is_valid(code) is valid


def test_compact_dates_and_id_cards():
    assert compact_date("20250513") == datetime.date(2025, 5, 13)
    assert compact_date("20250230") is None
    assert compact_date("20050513", TODAY) is None  # too old for an invoice
    assert id_card_is_valid("11010519491231002X")
    assert not id_card_is_valid("110105194912310021")


@pytest.mark.parametrize(
    ("code", "flaws"),
    [
        ("211001900211", [("bad_leading_digit", 1, 1, "2")]),
        ("019901900211", [("unknown_region", 2, 5, "1990")]),
        ("011009900211", [("year_in_future", 6, 7, "99")]),
        ("011001900299", [("unknown_kind", 11, 12, "99")]),
        ("9900191130", [("unknown_region", 1, 4, "9900")]),
        ("1100994430", [("year_in_future", 5, 6, "99"), ("unknown_kind", 8, 8, "4")]),
        ("011001900211", []),
        ("4403241130", []),
    ],
)
def test_each_flaw_names_its_digits_and_their_positions(code, flaws):
    decoded = code_decode(code, today=TODAY)
    assert [(f.problem.value, f.first, f.last, f.digits) for f in decoded.flaws] == flaws
    assert set(decoded.problems) == {Problem(p) for p, *_ in flaws}


def test_a_flaw_of_the_year_says_which_year():
    [flaw] = code_decode("011009900211", today=TODAY).flaws
    assert flaw.as_json() == {
        "problem": "year_in_future",
        "first": 6,
        "last": 7,
        "digits": "99",
        "year": 2099,
    }


def test_a_code_that_opens_a_digital_number_is_told_apart():
    assert looks_like_digital_prefix("241170000002", today=TODAY)
    assert not looks_like_digital_prefix("211002400211", today=TODAY)  # 2021, region 10
    assert not looks_like_digital_prefix("261170000002", today=TODAY)  # 2026 is after today
