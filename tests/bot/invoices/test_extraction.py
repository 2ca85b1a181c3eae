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


@pytest.mark.parametrize(
    "written",
    [
        "2025年5月13日",
        "2025年05月13日",
        "2025年5月13号",
        "2025 年 5 月 13 日",
        "2025-05-13",
        "2025-5-13",
        "2025/5/13",
        "2025/05/13",
        "2025.05.13",
        "2025.5.13",
        "20250513",
        "25年5月13日",
        "二〇二五年五月十三日",
        "二零二五年五月十三号",
        "5月13日",
        "五月十三号",
        "２０２５年５月１３日",
    ],
)
def test_every_date_format(written):
    fields = fields_extract(f"发票号码00112233 开票日期{written}", today=TODAY)
    assert fields.issue_date == datetime.date(2025, 5, 13)
    assert fields.invoice_number == "00112233"


@pytest.mark.parametrize(
    ("written", "amount"),
    [
        ("¥1,060.00", "1060.00"),
        ("￥1060", "1060.00"),
        ("1060元", "1060.00"),
        ("1,060.5", "1060.50"),
        ("1060.5元", "1060.50"),
        ("一千零六十元", "1060.00"),
        ("壹仟零陆拾圆整", "1060.00"),
        ("1060块", "1060.00"),
        ("0.1万元", "1000.00"),
        ("RMB 1,060.00", "1060.00"),
        ("¥ 1 060.00", "1060.00"),
    ],
)
def test_amount_formats(written, amount):
    fields = fields_extract(f"发票号码00112233 金额{written}", today=TODAY)
    assert fields.as_json()["amount"] == amount


@pytest.mark.parametrize(
    ("text", "amount", "kind"),
    [
        ("不含税金额1000元，价税合计1060元", "1000.00", "excluding_tax"),
        ("价税合计1060元，不含税金额1000元", "1060.00", "total"),
        ("1060元（含税）", "1060.00", "total"),
        ("合计金额1060元", "1060.00", "total"),
        # The kind decides when both are given: a special invoice needs the amount excl. tax.
        (
            "专票代码1100191130 号码00112233 价税合计1130元 不含税金额1000元",
            "1000.00",
            "excluding_tax",
        ),
        # ... and a 数电 invoice the total.
        ("24117000000212341234 金额1000元 价税合计1130元", "1130.00", "total"),
    ],
)
def test_which_amount_the_user_means(text, amount, kind):
    fields = fields_extract(text, today=TODAY)
    assert (fields.as_json()["amount"], fields.amount_kind) == (amount, kind)


@pytest.mark.parametrize(
    "written",
    [
        "12345 67890 12345 67890",
        "12345678901234567890",
        "后六位 567890",
        "后6位：567890",
        "伍陆柒捌玖零",
    ],
)
def test_check_code_grouped_or_last_six(written):
    fields = fields_extract(f"代码011001900211 号码00112233 校验码{written}", today=TODAY)
    assert fields.check_code == "567890"


@pytest.mark.parametrize(
    "distractor",
    [
        "手机13812345678",
        "电话 010-62345678",
        "订单号 2025051312345678",
        "身份证 11010519491231002X",
        "银行卡 6222021234567890123",
        "购买方税号 91110000100000000X",
        "QQ 12345678",
        "工号 20231234",
        "税额 60.00",
        "税率6%",
    ],
)
def test_distractors_next_to_an_invoice_stay_out(distractor):
    text = f"{distractor}，发票号码00112233，代码011001900211，2025年5月13日"
    got = fields_extract(text, today=TODAY)
    assert (got.invoice_number, got.invoice_code) == ("00112233", "011001900211")
    assert got.issue_date == datetime.date(2025, 5, 13)
    assert got.amount is None and got.check_code is None and got.seller_tax_id is None


def test_field_accuracy_over_all_cases_is_at_least_98_percent():
    right = total = 0
    for case in CASES:
        got = fields_extract(case["text"], today=TODAY).as_json()
        right += sum(got[f] == case[f] for f in FIELDS)
        total += len(FIELDS)
    assert right / total >= 0.98


def test_a_written_date_wins_over_today_in_the_same_message():
    import datetime

    from bot.invoices.extraction import fields_extract

    today = datetime.date(2026, 12, 4)
    fields = fields_extract("今天开的发票，2026年11月30日的，号码12345678", today=today)
    assert fields.issue_date == datetime.date(2026, 11, 30)
    alone = fields_extract("今天开的票，号码12345678", today=today)
    assert alone.issue_date == today


@pytest.mark.parametrize(
    "text",
    ["211002400211 号码12345678", "1234567890 12345678 2025年5月13日", "019901900211"],
)
def test_an_unlabelled_code_that_does_not_decode_is_kept_apart(text):
    fields = fields_extract(text, today=TODAY)
    assert fields.invoice_code is None
    assert fields.rejected_code == text.split()[0]


def test_a_valid_code_beside_a_wrong_one_wins():
    fields = fields_extract("211002400211 011001900211 12345678", today=TODAY)
    assert (fields.invoice_code, fields.rejected_code) == ("011001900211", None)


def test_a_digital_number_cut_in_two_is_kept_as_code_and_number_for_the_diagnosis():
    fields = fields_extract("241170000002 12341234", today=TODAY)
    assert (fields.invoice_code, fields.invoice_number) == ("241170000002", "12341234")
    assert fields.kind == "digital" and fields.rejected_code is None


@pytest.mark.parametrize(
    ("text", "amount", "kind"),
    [
        ("25117000000111222333 2025-06-01 1130", "1130.00", "total"),
        ("25117000000111222333，2025年6月1日，1130", "1130.00", "total"),
        ("2025-06-01 25117000000111222333 113000", "113000.00", "total"),  # not a check code
        ("25117000000111222333 昨天开的 1130", "1130.00", "total"),
        ("25117000000111222333 2025-06-01 1130元", "1130.00", "total"),
        # A special invoice's amount may be the total typed by mistake: read, not named.
        ("1100241130 00112233 2025-06-01 1000", "1000.00", None),
    ],
)
def test_a_bare_amount_after_the_invoice_and_its_date_is_the_amount_it_needs(text, amount, kind):
    fields = fields_extract(text, today=TODAY)
    assert (fields.as_json()["amount"], fields.amount_kind, fields.check_code) == (
        amount,
        kind,
        None,
    )


@pytest.mark.parametrize(
    "text",
    [
        "25117000000111222333 1130",  # no date
        "25117000000111222333 1130 2025-06-01",  # before the date
        "25117000000111222333 2025-06-01 3张",  # a count
        "25117000000111222333 2025-06-01 1130，567",  # which one?
        "011001900211 12345678 2025-06-01 1130",  # checked with the check code
    ],
)
def test_a_bare_number_is_no_amount_elsewhere(text):
    assert fields_extract(text, today=TODAY).amount is None


def test_a_bare_six_digit_number_after_an_ordinary_invoice_is_its_check_code():
    fields = fields_extract("011001900211 12345678 2025-06-01 567890", today=TODAY)
    assert (fields.check_code, fields.amount) == ("567890", None)
