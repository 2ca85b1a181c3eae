"""Invoice reading slips, through /wechat/ as WeChat sends them (issue 12, point 4).

Each test sends the follower's messages through the webhook and reads the reply they get:
a code that does not decode is named with why; a written date beats 今天; a bare amount
after a 数电 number and its date is the total; a Beijing invoice is not told it may be
from elsewhere; the menu and the typed question agree; 明天帮我复查 sets a re-check; a
date read from a QR code is never called a typing slip.
"""

import datetime
import random
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.template.loader import render_to_string
from django.utils import timezone

from bot.invoices.models import InvoiceWatch, Result, VerificationRecord
from bot.invoices.watching import invoice_watch_recheck
from bot.notices.models import Notice
from tests.bot.dialog.test_invoice_turn import CODE, DIGITAL, cn, issued, ledger, photo, say, state
from tests.bot.invoices.photos import phone_photo

pytestmark = pytest.mark.django_db

SHANGHAI = "031002400211"  # Shanghai, electronic ordinary


def tomorrow_morning() -> datetime.datetime:
    day = timezone.localdate() + datetime.timedelta(days=1)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(8)))


def md(day: datetime.date) -> str:
    return f"{day.month}月{day.day}日"


# -- 1. a code that does not decode is named, with why ---------------------------------
@pytest.mark.parametrize(
    ("text", "code", "why"),
    [
        ("211002400211 12345678", "211002400211", "12位代码的第1位应是0（个别是1），这里是“2”"),
        ("019902400211 12345678", "019902400211", "第2–5位是地区码，“1990”不对应任何省市"),
        (
            "011002400299 12345678",
            "011002400299",
            "第11–12位是票种码，“99”不是任何增值税发票的票种",
        ),
        ("代码011009900211 号码12345678", "011009900211", "第6–7位是年份，“99”即2099年，晚于今年"),
        ("发票代码9999241130 号码12345678", "9999241130", "第1–4位是地区码，“9999”不对应任何省市"),
        ("1100244430 12345678", "1100244430", "第8位是票种码，“4”不是任何增值税发票的票种"),
    ],
)
def test_a_code_that_does_not_decode_is_named_with_why_and_asked_again(wechat, text, code, why):
    reply = say(wechat, "o-code", f"{text} {cn(issued())} 校验码567890")
    assert f"“{code}”不是有效的发票代码：{why}" in reply
    assert "还需要：发票代码（10位或12位）" in reply
    assert "· 发票代码：" not in reply  # not listed among the fields read
    assert "invoice_code" not in state("o-code")["fields"]
    assert not VerificationRecord.objects.exists()


def test_after_a_rejected_code_the_right_one_completes_the_check(wechat):
    ledger(CODE, "12345678")
    first = say(wechat, "o-code2", f"211002400211 12345678 {cn(issued())} 校验码567890")
    assert "不是有效的发票代码" in first
    say(wechat, "o-code2", f"代码{CODE}")
    record = VerificationRecord.objects.get()
    assert (record.invoice_code, record.invoice_number, record.result) == (
        CODE,
        "12345678",
        Result.VALID,
    )


def test_a_wrong_kind_digit_also_points_at_documents_outside_the_vat_system(wechat):
    reply = say(wechat, "o-code3", "011002400299 12345678")
    assert "定额发票" in reply and "开票地的税务机关" in reply


def test_a_digital_number_cut_into_code_and_number_is_still_diagnosed_as_such(wechat):
    reply = say(wechat, "o-split", f"241170000002 12341234 {cn(issued())} 价税合计1060元")
    assert "不是有效的发票代码" not in reply
    assert "数电票" in reply and "24117000000212341234" in reply  # the number to type
    assert VerificationRecord.objects.get().diagnosis == "digital_split"


def test_a_cut_off_digital_number_typed_as_a_code_gets_the_digital_hint(wechat):
    reply = say(wechat, "o-split2", "241170000002")
    assert "“241170000002”不是有效的发票代码" in reply
    assert "如果是数电票" in reply and "20位发票号码" in reply


# -- 2. a written date wins over 今天 / 昨天 in the same message --------------------------
def test_a_written_date_wins_over_today_in_the_same_message(wechat):
    ledger(CODE, "12345678")
    reply = say(
        wechat, "o-date", f"今天开的，日期{cn(issued())}，代码{CODE} 号码12345678 校验码567890"
    )
    assert VerificationRecord.objects.get().issue_date == issued()
    assert f"开票日期：{cn(issued())}" in reply and "今天开具" not in reply


# -- 3. a bare amount after a 数电 number and its date is the total ----------------------
@pytest.mark.parametrize("amount", ["1130", "1130.00", "113000"])
def test_a_bare_amount_after_a_digital_number_and_its_date_is_the_total(wechat, amount):
    ledger("", DIGITAL, total=Decimal(amount), amount=Decimal(amount) / Decimal("1.13"))
    reply = say(wechat, "o-total", f"{DIGITAL} {issued().isoformat()} {amount}")
    record = VerificationRecord.objects.get()
    assert record.amount == Decimal(amount) and record.check_code == ""
    assert record.result == Result.VALID
    assert f"价税合计：{Decimal(amount):.2f} 元" in reply and "还需要" not in reply


def test_a_bare_six_digit_number_after_an_ordinary_invoice_is_still_its_check_code(wechat):
    ledger(CODE, "12345678")
    say(wechat, "o-check", f"{CODE} 12345678 {issued().isoformat()} 567890")
    record = VerificationRecord.objects.get()
    assert (record.check_code, record.amount) == ("567890", None)


def test_a_count_after_a_digital_number_is_no_amount(wechat):
    reply = say(wechat, "o-count", f"{DIGITAL} {issued().isoformat()} 3张")
    assert "还需要：价税合计（含税金额）" in reply
    assert not VerificationRecord.objects.exists()


# -- 4. a Beijing invoice in Beijing is not told it may be from elsewhere ----------------
def test_a_beijing_invoice_looked_up_in_beijing_gets_no_cross_region_cause(wechat):
    reply = say(wechat, "o-bj", "北京的发票在北京系统里没有")
    assert "不是北京开具" not in reply and "跨地区" in reply  # said: it is not that
    assert "①发票信息录入有误" in reply and "销售方离线开票还未上传" in reply
    assert "1. 现在查验" in reply  # the answer's choices stay
    # Without a word on the region, the region is still among the causes.
    general = say(wechat, "o-any", "发票查不到怎么办")
    assert "不是北京开具的发票" in general


def test_the_invoice_known_to_be_from_beijing_drops_the_region_cause_menu_and_typed(wechat):
    recent = timezone.localdate() - datetime.timedelta(days=2)  # not found, recent: no ticket
    for openid in ("o-bj-typed", "o-bj-menu"):
        say(wechat, openid, f"代码{CODE} 号码12345678 {cn(recent)} 校验码567890")
    typed = say(wechat, "o-bj-typed", "发票查不到怎么办")
    clicked = wechat.reply(wechat.event("o-bj-menu", "CLICK", "NOT_FOUND_HELP"))["Content"]
    assert clicked == typed
    assert "不是北京开具" not in typed and "这是北京开具的发票" in typed


def test_an_invoice_from_another_region_keeps_the_region_cause(wechat):
    say(wechat, "o-sh", f"代码{SHANGHAI} 号码12345678 {cn(issued())} 校验码567890")
    assert "不是北京开具的发票" in say(wechat, "o-sh", "发票查不到怎么办")


# -- 5. the menu's 发票查不到 and the typed question agree (fresh conversations) -------------
def test_the_menu_and_the_typed_question_give_the_same_answer(wechat):
    clicked = wechat.reply(wechat.event("o-m1", "CLICK", "NOT_FOUND_HELP"))["Content"]
    assert clicked == say(wechat, "o-m2", "发票查不到怎么办")


# -- 6. 明天帮我复查 does what it says ------------------------------------------------------
QUESTION = "今天开的发票为什么查验不了"  # sync_delay: its choices start with 明天帮我复查


@pytest.mark.parametrize("choice", ["1", "明天帮我复查"])
def test_recheck_tomorrow_without_an_invoice_asks_for_it_then_sets_the_recheck(wechat, choice):
    assert "1. 明天帮我复查" in say(wechat, "o-re", QUESTION)
    asked = say(wechat, "o-re", choice)
    assert asked == render_to_string("bot/replies/invoice_recheck_ask.txt").strip()
    assert not InvoiceWatch.objects.exists()
    today = timezone.localdate()
    need = say(wechat, "o-re", f"代码{CODE} 号码12345678 {cn(today)}")
    assert "校验码后6位" in need and "收齐后我会设好明天的复查" in need
    confirmed = say(wechat, "o-re", "567890")
    watch = InvoiceWatch.objects.get(follower__openid="o-re")
    assert watch.next_check_at == tomorrow_morning()
    assert (watch.invoice_code, watch.invoice_number, watch.check_code) == (
        CODE,
        "12345678",
        "567890",
    )
    tomorrow = today + datetime.timedelta(days=1)
    assert f"明天（{md(tomorrow)}）8:00" in confirmed and "号码 12345678" in confirmed
    assert not VerificationRecord.objects.exists()  # nothing spent today


def test_recheck_tomorrow_of_the_invoice_just_checked_is_set_and_then_tells_the_result(
    wechat, fake_wechat, django_capture_on_commit_callbacks
):
    ledger(CODE, "12345678")
    say(wechat, "o-re2", f"代码{CODE} 号码12345678 {cn(issued())} 校验码567890")
    assert "1. 明天帮我复查" in say(wechat, "o-re2", "查验次数超限怎么办")
    confirmed = say(wechat, "o-re2", "明天帮我复查")
    watch = InvoiceWatch.objects.get(follower__openid="o-re2", status="active")
    assert watch.next_check_at == tomorrow_morning()
    assert "明天" in confirmed and "8:00" in confirmed and "号码 12345678" in confirmed
    # Tomorrow morning the re-check runs and the follower is told.
    with django_capture_on_commit_callbacks(execute=True):
        invoice_watch_recheck(watch_id=watch.pk, force=True)
    notice = Notice.objects.get(follower__openid="o-re2", kind="invoice_in_system")
    assert "有结果了" in notice.text and "一致" in notice.text


def test_recheck_tomorrow_uses_the_last_check_when_the_conversation_forgot_it(wechat):
    from bot.dialog.state import state_key

    ledger(CODE, "12345678")
    say(wechat, "o-re3", f"代码{CODE} 号码12345678 {cn(issued())} 校验码567890")
    cache.delete(state_key("o-re3"))  # the dialog's memory expired; the record stays
    confirmed = say(wechat, "o-re3", "明天帮我复查")
    watch = InvoiceWatch.objects.get(follower__openid="o-re3")
    assert watch.next_check_at == tomorrow_morning() and watch.check_code == "567890"
    assert "号码 12345678" in confirmed


def test_recheck_tomorrow_of_an_invoice_no_day_can_check_says_why_now(wechat):
    say(wechat, "o-re4", f"代码{SHANGHAI} 号码12345678 {cn(issued())} 校验码567890")
    reply = say(wechat, "o-re4", "明天帮我复查")
    assert "上海" in reply and "先不设复查" in reply
    assert not InvoiceWatch.objects.exists()


@pytest.mark.parametrize(
    ("text", "asks"),
    [
        ("明天帮我复查", True),
        ("明天再查", True),
        ("帮我复查一下", True),
        ("明天帮我再查一次吧", True),
        ("帮我查一下", False),
        ("怎么复查", False),
        ("明天能查吗", False),
    ],
)
def test_what_counts_as_a_recheck_request(text, asks):
    from bot.dialog.hooks.invoices import is_recheck_request

    assert is_recheck_request(text) is asks


# -- 7. a date read from a QR code is never called a typing slip -------------------------
def qr_photo(fake_wechat, media_id: str, payload: str) -> None:
    fake_wechat.put_media(media_id, phone_photo(payload, random.Random(7)))


def test_a_too_old_date_from_a_qr_code_is_said_to_come_from_the_code(wechat, fake_wechat):
    qr_photo(fake_wechat, "OLD", f"01,10,011001900211,12345678,64.90,20190301,{'1' * 20},BE2D")
    reply = photo(wechat, "o-qr", media_id="OLD")
    assert VerificationRecord.objects.get().diagnosis == "too_old"
    assert "从发票二维码读到的开票日期是2019年3月1日" in reply
    assert "输错" not in reply and "输入" not in reply
    # Typed, the same invoice is still asked to check the typing.
    typed = say(wechat, "o-typed", f"代码011001900211 号码12345678 2019年3月1日 校验码{'1' * 6}")
    assert "是否输错" in typed


def test_an_impossible_date_from_a_qr_code_is_said_to_come_from_the_code(wechat, fake_wechat):
    # A 2024 code on an invoice dated 2023: no typing happened.
    qr_photo(fake_wechat, "BAD", f"01,10,{CODE},12345678,64.90,20230105,{'1' * 20},BE2D")
    reply = photo(wechat, "o-qr2", media_id="BAD")
    assert VerificationRecord.objects.get().diagnosis == "bad_date"
    assert "从发票二维码读到的开票日期（2023年1月5日）" in reply and "票面" in reply
    assert "输错" not in reply and "输入" not in reply


def test_the_qr_date_stays_read_from_the_code_after_a_typed_field(wechat, fake_wechat):
    qr_photo(fake_wechat, "NOCHECK", "01,10,011001900211,12345678,64.90,20190301,,BE2D")
    asked = photo(wechat, "o-qr3", media_id="NOCHECK")
    assert "校验码后6位" in asked
    reply = say(wechat, "o-qr3", "校验码后六位111111")
    assert "从发票二维码读到的开票日期" in reply and "输错" not in reply
    # Once the follower types the date over, it is theirs.
    typed = say(wechat, "o-qr3", "开票日期2019年3月2日")
    assert "是否输错" in typed


def test_a_queued_check_of_a_qr_code_keeps_where_the_date_came_from(
    wechat, fake_wechat, settings, django_capture_on_commit_callbacks
):
    settings.INVOICE_VERIFY_BACKENDS = ["tencentcloud"]  # not local: the answer is pushed
    qr_photo(fake_wechat, "SLOW", f"01,10,011001900211,12345678,64.90,20190301,{'1' * 20},BE2D")
    with django_capture_on_commit_callbacks(execute=True):
        assert "正在查询" in photo(wechat, "o-qr4", media_id="SLOW")
    pushed = Notice.objects.get(follower__openid="o-qr4")
    assert "从发票二维码读到的开票日期" in pushed.text and "输错" not in pushed.text


# -- how verification works is answered, not turned into a check ------------------------
@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("校验码在哪里看", "右上方"),
        ("jiaoyanma zai nali", "右上方"),  # typed in pinyin, 校 read jiao
        ("报销的发票都必须查验吗", "财务制度"),
        ("定额发票能在查验平台查吗", "定额发票"),
    ],
)
def test_a_question_about_verification_gets_its_answer_not_a_check(wechat, text, said):
    reply = say(wechat, "o-how", text)
    assert said in reply
    assert reply != render_to_string("bot/replies/invoice_start.txt").strip()
    assert state("o-how") is None  # no check is being collected


def test_asking_for_a_check_still_starts_one(wechat):
    reply = say(wechat, "o-check", "帮我验证一下发票")
    assert reply == render_to_string("bot/replies/invoice_start.txt").strip()
    assert state("o-check")["fields"] == {}
