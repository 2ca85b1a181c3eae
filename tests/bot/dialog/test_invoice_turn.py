"""The invoice dialog through /wechat/: slot filling, 取消, photos, slow verification."""

import datetime
import random
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.template.loader import render_to_string
from django.utils import timezone

from bot.conversations.models import Message
from bot.invoices.models import LedgerInvoice, Result, VerificationRecord
from bot.simulator.envelope import message_fields
from tests.bot.invoices.fake_tencent import FakeTencentOcr
from tests.bot.invoices.photos import phone_photo

pytestmark = pytest.mark.django_db

CODE = "011002400211"  # Beijing, electronic ordinary: needs the check code
SPECIAL = "1100241130"  # Beijing, special: needs the amount excluding tax
DIGITAL = "24117000000212341234"  # Beijing 数电: needs the total


def issued() -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=20)


def cn(date: datetime.date) -> str:
    return f"{date.year}年{date.month}月{date.day}日"


def ledger(code: str, number: str, **overrides) -> LedgerInvoice:
    values = {
        "invoice_code": code,
        "invoice_number": number,
        "issue_date": issued(),
        "amount": Decimal("1000.00"),
        "total": Decimal("1060.00"),
        "check_code": "12345678901234567890",
        "seller_name": "北京某某商贸有限公司",
        "seller_tax_id": "9144030071526726XG",
        "buyer_name": "北京某某科技有限公司",
        "status": LedgerInvoice.Status.VALID,
        "uploaded_at": timezone.now() - datetime.timedelta(days=10),
    }
    values.update(overrides)
    return LedgerInvoice.objects.create(**values)


def say(wechat, openid: str, text: str) -> str:
    return wechat.reply(wechat.text(openid, text))["Content"]


def photo(wechat, openid: str, *, media_id: str = "", pic_url: str = "") -> str:
    fields = message_fields(openid=openid, msg_type="image", MediaId=media_id, PicUrl=pic_url)
    return wechat.reply(wechat.post(fields))["Content"]


def state(openid: str) -> dict | None:
    """The invoice part of the follower's conversation state, as the next turn reads it."""
    from bot.dialog.state import ConversationState, state_key

    return ConversationState.from_cached(cache.get(state_key(openid))).invoice


def test_fields_over_several_messages_ask_only_for_what_is_missing(wechat):
    ledger(CODE, "12345678")
    first = say(wechat, "o-1", f"发票代码{CODE}")
    assert "增值税电子普通发票（北京）" in first
    assert "发票号码（8位）" in first and "开票日期" in first and "校验码后6位" in first
    assert "不含税金额" not in first and "价税合计" not in first
    second = say(wechat, "o-1", "号码 1234 5678")
    assert "发票号码：12345678" in second
    assert "发票号码（8位）" not in second and "校验码后6位" in second
    assert not VerificationRecord.objects.exists()
    third = say(wechat, "o-1", f"{cn(issued())}开的，校验码 12345 67890 12345 67890")
    record = VerificationRecord.objects.get()
    assert (record.invoice_code, record.invoice_number, record.check_code) == (
        CODE,
        "12345678",
        "567890",
    )
    assert record.issue_date == issued()
    assert record.result == Result.VALID
    assert "校验码后6位：567890" in third
    assert state("o-1")["done"] is True


def test_any_order_after_the_menu_and_bare_answers_read_as_the_asked_field(wechat):
    ledger(CODE, "87654321")
    start = wechat.reply(wechat.event("o-2", "CLICK", "VERIFY_INVOICE"))["Content"]
    assert start == render_to_string("bot/replies/invoice_start.txt").strip()
    after_date = say(wechat, "o-2", cn(issued()))
    assert "开票日期：" in after_date and "发票代码和发票号码" in after_date
    after_identity = say(wechat, "o-2", f"{CODE} 87654321")
    assert "校验码后6位" in after_identity and not VerificationRecord.objects.exists()
    # Asked for the check code, a bare six-digit answer is one.
    say(wechat, "o-2", "567890")
    record = VerificationRecord.objects.get()
    assert record.check_code == "567890" and record.result == Result.VALID


def test_cancel_ends_the_check_and_later_numbers_are_not_fields(wechat):
    say(wechat, "o-3", f"发票代码{CODE} 号码12345678")
    assert state("o-3") is not None
    cancelled = say(wechat, "o-3", "取消")
    assert cancelled == render_to_string("bot/replies/invoice_cancelled.txt").strip()
    assert state("o-3") is None
    later = say(wechat, "o-3", "567890")
    assert "还需要" not in later and "567890" not in later
    assert "check_code" not in (state("o-3") or {}).get("fields", {})
    assert not VerificationRecord.objects.exists()


@pytest.mark.parametrize("text", ["1", "2", " 1 ", "我电话13812345678", "订单号20250513123456"])
def test_quick_reply_choices_and_phone_numbers_are_not_invoice_fields(wechat, text):
    say(wechat, "o-4", f"发票代码{CODE}")
    before = state("o-4")
    reply = say(wechat, "o-4", text)
    assert state("o-4") == before
    assert "还需要" not in reply
    inbound = Message.objects.filter(direction="in").order_by("-id").first()
    assert inbound.intent  # the NLU read it


def test_a_date_alone_goes_to_the_nlu_and_waits_for_the_invoice(wechat):
    ledger(CODE, "12345678")
    reply = say(wechat, "o-5", f"{cn(issued())}开的票查不到")
    assert "还需要" not in reply
    assert Message.objects.get(direction="in").intent
    assert state("o-5")["fields"] == {"issue_date": issued().isoformat()}
    # Nothing was started, so "算了" is not a cancellation.
    assert (
        say(wechat, "o-5", "算了") != render_to_string("bot/replies/invoice_cancelled.txt").strip()
    )
    assert state("o-5")["fields"] == {"issue_date": issued().isoformat()}
    say(wechat, "o-5", f"代码{CODE} 号码12345678 校验码后六位567890")
    record = VerificationRecord.objects.get()
    assert record.issue_date == issued() and record.result == Result.VALID


def test_special_invoice_wants_the_amount_excluding_tax_not_the_total(wechat):
    ledger(SPECIAL, "00112233", issue_date=issued())
    reply = say(wechat, "o-6", f"专票 代码{SPECIAL} 号码00112233 {cn(issued())} 价税合计1060元")
    assert "您发的是价税合计" in reply and "不含税金额" in reply
    assert "校验码" not in reply
    assert not VerificationRecord.objects.exists()
    say(wechat, "o-6", "1000")
    record = VerificationRecord.objects.get()
    assert record.amount == Decimal("1000.00") and record.result == Result.VALID


def test_digital_invoice_in_one_message_is_checked_without_a_code(wechat):
    ledger("", DIGITAL)
    reply = say(wechat, "o-7", f"数电票号码{DIGITAL}，{cn(issued())}，价税合计1,060.00元")
    record = VerificationRecord.objects.get()
    assert record.invoice_code == "" and record.invoice_number == DIGITAL
    assert record.result == Result.VALID
    assert "数电票（北京）" in reply and "发票代码" not in reply


def test_a_correction_after_the_check_rechecks_the_same_invoice(wechat):
    ledger(CODE, "12345678")
    say(wechat, "o-8", f"代码{CODE} 号码12345678 {cn(issued())} 校验码后六位 111111")
    assert VerificationRecord.objects.get().result == Result.MISMATCH
    say(wechat, "o-8", "校验码后六位是567890")
    latest = VerificationRecord.objects.order_by("-id").first()
    assert VerificationRecord.objects.count() == 2
    assert (latest.invoice_number, latest.check_code, latest.result) == (
        "12345678",
        "567890",
        Result.VALID,
    )


def test_nlu_verify_intent_starts_slot_filling(wechat):
    reply = say(wechat, "o-9", "帮我查验一下发票真伪")
    assert Message.objects.get(direction="in").intent == "verify_invoice"
    assert reply == render_to_string("bot/replies/invoice_start.txt").strip()
    assert state("o-9") == {"fields": {}, "done": False, "from_photo": False}


def test_slow_verification_answers_first_and_pushes_the_result(
    wechat, settings, django_capture_on_commit_callbacks
):
    with FakeTencentOcr() as tencent:
        settings.INVOICE_VERIFY_BACKENDS = ["tencentcloud"]
        settings.INVOICE_TENCENTCLOUD_ENDPOINT = tencent.url
        settings.TENCENTCLOUD_SECRET_ID = "AKIDfake"
        settings.TENCENTCLOUD_SECRET_KEY = "fake-key"
        settings.INVOICE_VERIFY_TIMEOUT = 2
        tencent.answer_invoice(
            Code=CODE, Number="12345678", Date=issued().isoformat(), IsAbandoned="N"
        )
        with django_capture_on_commit_callbacks(execute=True):
            reply = say(wechat, "o-10", f"代码{CODE} 号码12345678 {cn(issued())} 校验码567890")
        assert "正在查询" in reply
        assert len(tencent.calls) == 1
    record = VerificationRecord.objects.get()
    assert record.result == Result.VALID
    pushed = Message.objects.get(direction="out", channel=Message.Channel.CUSTOMER_SERVICE)
    assert pushed.follower.openid == "o-10" and pushed.text


# -- photos ---------------------------------------------------------------------------------
def payload_for(code: str, number: str, check: str = "12345678901234567890") -> str:
    return f"01,10,{code},{number},1000.00,{issued():%Y%m%d},{check},BE2D"


def test_photo_by_media_id_from_the_wechat_api_is_checked(wechat, fake_wechat):
    ledger(CODE, "12345678")
    fake_wechat.put_media("MEDIA1", phone_photo(payload_for(CODE, "12345678"), random.Random(3)))
    reply = photo(wechat, "o-11", media_id="MEDIA1", pic_url="http://example.invalid/a.jpg")
    record = VerificationRecord.objects.get()
    assert (record.invoice_code, record.invoice_number, record.check_code) == (
        CODE,
        "12345678",
        "567890",
    )
    assert record.result == Result.VALID
    assert "二维码" in reply and "发票号码：12345678" in reply
    assert [c.query["media_id"] for c in fake_wechat.calls("/cgi-bin/media/get")] == ["MEDIA1"]


def test_photo_uploaded_in_the_simulator_is_read_from_its_media(wechat, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    ledger(CODE, "12345678")
    (tmp_path / "simulator").mkdir()
    image = phone_photo(payload_for(CODE, "12345678"), random.Random(4))
    (tmp_path / "simulator" / "sim-abc123").write_bytes(image)
    photo(wechat, "sim-user", media_id="sim-abc123", pic_url="http://testserver/simulator/media/x")
    assert VerificationRecord.objects.get().result == Result.VALID


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"%PDF-1.4 not an image at all", "not_image"),
        ("url", "url"),
        ("other", "not_invoice"),
        ("blank", "no_qr"),
    ],
)
def test_photos_that_are_no_invoice_get_a_polite_answer(wechat, fake_wechat, content, reason):
    from tests.bot.invoices.photos import qr_image

    def jpeg(image) -> bytes:
        import io

        out = io.BytesIO()
        image.save(out, "JPEG")
        return out.getvalue()

    if content == "url":
        content = jpeg(qr_image("https://inv-veri.chinatax.gov.cn/"))
    elif content == "other":
        content = jpeg(qr_image("WIFI:S:office;T:WPA;P:secret;;"))
    elif content == "blank":
        from PIL import Image

        content = jpeg(Image.new("RGB", (640, 480), (200, 200, 200)))
    fake_wechat.put_media("M", content)
    reply = photo(wechat, "o-12", media_id="M")
    expected = render_to_string("bot/replies/invoice_photo_failed.txt", {"reason": reason})
    assert reply == expected.strip()
    assert not VerificationRecord.objects.exists()


def test_photo_that_cannot_be_fetched_gets_a_polite_answer_and_a_retry_later(
    wechat, fake_wechat, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as queued:
        reply = photo(wechat, "o-13", media_id="EXPIRED", pic_url="http://evil.example/a.jpg")
    assert reply == render_to_string("bot/replies/invoice_photo_retrying.txt").strip()
    assert "后台再试" in reply
    assert len(fake_wechat.calls("/cgi-bin/media/get")) == 1
    assert len(queued) == 1  # the retry, queued after commit: not on the request path


def test_the_photo_retry_reads_the_photo_checks_it_and_pushes_the_result(
    wechat, fake_wechat, django_capture_on_commit_callbacks
):
    from bot.conversations.models import Attachment
    from bot.dialog.hooks.invoices import photo_retry_run

    ledger(CODE, "12345678")
    with django_capture_on_commit_callbacks(execute=False):
        photo(wechat, "o-13b", media_id="LATE")  # WeChat's media server had nothing yet
    image = Message.objects.get(direction="in", msg_type="image", follower__openid="o-13b")
    fake_wechat.put_media("LATE", phone_photo(payload_for(CODE, "12345678"), random.Random(5)))
    with django_capture_on_commit_callbacks(execute=True):
        assert photo_retry_run(message_id=image.pk) == "checked"
    assert Attachment.objects.filter(message=image).count() == 1
    record = VerificationRecord.objects.get()
    assert (record.invoice_number, record.result) == ("12345678", Result.VALID)
    pushed = Message.objects.filter(direction="out", channel=Message.Channel.CUSTOMER_SERVICE)
    assert [m.follower.openid for m in pushed] == ["o-13b"] and "12345678" in pushed[0].text
    # A second run of the task (acks_late redelivery) does nothing more.
    assert photo_retry_run(message_id=image.pk) == "kept already"
    assert VerificationRecord.objects.count() == 1


def test_a_photo_retry_that_fails_again_tells_the_follower_once(
    wechat, fake_wechat, django_capture_on_commit_callbacks
):
    from bot.dialog.hooks.invoices import photo_retry_run
    from bot.notices.models import Notice

    with django_capture_on_commit_callbacks(execute=False):
        photo(wechat, "o-13c", media_id="GONE")
    image = Message.objects.get(direction="in", msg_type="image", follower__openid="o-13c")
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            assert photo_retry_run(message_id=image.pk) == "fetch_failed"
    notice = Notice.objects.get(follower__openid="o-13c")
    expected = render_to_string("bot/replies/invoice_photo_failed.txt", {"reason": "fetch_failed"})
    assert notice.text == expected.strip()
    assert not VerificationRecord.objects.exists()


def test_a_20_mb_photo_is_refused_politely(wechat, fake_wechat):
    fake_wechat.put_media("BIG", b"\xff\xd8" + b"\0" * (21 * 1024 * 1024))
    reply = photo(wechat, "o-14", media_id="BIG")
    expected = render_to_string("bot/replies/invoice_photo_failed.txt", {"reason": "too_large"})
    assert reply == expected.strip()


def test_voice_recognition_text_is_read_like_typed_text(wechat):
    ledger(CODE, "12345678")
    fields = message_fields(
        openid="o-15",
        msg_type="voice",
        MediaId="VOICE1",
        Format="amr",
        Recognition=f"发票代码零一一零零二四零零二一一，号码一二三四五六七八，{cn(issued())}，"
        "校验码后六位五六七八九零。",
    )
    wechat.reply(wechat.post(fields))
    record = VerificationRecord.objects.get()
    assert (record.invoice_code, record.invoice_number, record.check_code) == (
        CODE,
        "12345678",
        "567890",
    )


def test_a_message_without_invoice_fields_is_not_the_invoice_hooks(django_assert_num_queries):
    from bot.channels.wechat.inbound import inbound_message
    from bot.dialog.hooks.invoices import slots_wants
    from bot.dialog.state import ConversationState, Turn

    fields = message_fields(openid="o-16", msg_type="text", Content="发票查不到怎么办")
    turn = Turn(inbound=inbound_message(fields=fields, raw=""), state=ConversationState())
    with django_assert_num_queries(0):
        assert slots_wants(turn) is False


# -- hand-over to the help desk -------------------------------------------------------------
def test_an_invoice_not_found_opens_a_ticket_with_its_diagnosis(wechat):
    from tickets.models import Ticket

    # Not in the ledger and issued 20 days ago: not_found, which a person must look into.
    reply = say(wechat, "o-nf", f"代码{CODE} 号码12345678 {cn(issued())} 校验码567890")
    ticket = Ticket.objects.get(requester_ref="o-nf")
    assert "查无此票" in reply  # the diagnosis …
    assert ticket.number in reply and "12366" in reply  # … and the ticket, with what comes next
    assert (ticket.escalation_reason, ticket.category) == ("diagnosis", "invoice_not_found")
    [invoice] = ticket.invoices
    record = VerificationRecord.objects.get()
    assert (invoice["number"], invoice["code"], invoice["date"]) == (
        "12345678",
        CODE,
        issued().isoformat(),
    )
    assert invoice["kind"] == "增值税电子普通发票" and invoice["check_code"] == "567890"
    assert invoice["result"] == "查无此票" and record.result == Result.NOT_FOUND
    assert invoice["diagnosis"]["cause"] in reply and "开票方" in invoice["diagnosis"]["advice"]
    assert [h["result"] for h in invoice["history"]] == ["查无此票"]
    assert ticket.invoice_numbers == "12345678"
    # The agent sees what the follower typed and what the bot told them.
    texts = list(ticket.messages.values_list("author_kind", "text"))
    assert texts[0][0] == "user" and "12345678" in texts[0][1]
    assert texts[-1][0] == "bot" and ticket.number in texts[-1][1]


def test_a_second_invoice_not_found_joins_the_same_ticket(wechat):
    from tickets.models import Ticket

    say(wechat, "o-nf2", f"代码{CODE} 号码12345678 {cn(issued())} 校验码567890")
    second = say(wechat, "o-nf2", f"代码{CODE} 号码87654321 {cn(issued())} 校验码111111")
    ticket = Ticket.objects.get(requester_ref="o-nf2")
    # A person has the ticket now: the bot steps back, the invoice becomes a card.
    assert "已转给客服" in second and ticket.number in second
    assert sorted(i["number"] for i in ticket.invoices) == ["12345678", "87654321"]
    assert ticket.invoices[-1]["result"] == "用户发送的发票信息（未查验）"


def test_a_found_invoice_opens_no_ticket(wechat):
    from tickets.models import Ticket

    ledger(CODE, "12345678")
    reply = say(wechat, "o-ok", f"代码{CODE} 号码12345678 {cn(issued())} 校验码567890")
    assert "工单" not in reply
    assert not Ticket.objects.exists()


def test_slow_verification_not_found_pushes_the_answer_and_opens_a_ticket(
    wechat, fake_wechat, settings, django_capture_on_commit_callbacks
):
    from bot.notices.models import Notice
    from tickets.models import Ticket

    with FakeTencentOcr() as tencent:
        settings.INVOICE_VERIFY_BACKENDS = ["tencentcloud"]
        settings.INVOICE_TENCENTCLOUD_ENDPOINT = tencent.url
        settings.TENCENTCLOUD_SECRET_ID = "AKIDfake"
        settings.TENCENTCLOUD_SECRET_KEY = "fake-key"
        settings.INVOICE_VERIFY_TIMEOUT = 2
        tencent.answer_error("ResourceNotFound.NoInvoice")
        with django_capture_on_commit_callbacks(execute=True):
            reply = say(wechat, "o-slow", f"代码{CODE} 号码12345678 {cn(issued())} 校验码567890")
    assert "正在查询" in reply
    ticket = Ticket.objects.get(requester_ref="o-slow")
    assert ticket.escalation_reason == "diagnosis" and ticket.invoices[0]["number"] == "12345678"
    # The answer, then the ticket's own notice: both through the one push pipeline.
    answer, announced = Notice.objects.filter(follower__openid="o-slow").order_by("id")
    assert "查无此票" in answer.text
    assert ticket.number in announced.text and announced.kind == "ticket_event"
    sent = [c.body["text"]["content"] for c in fake_wechat.calls("/cgi-bin/message/custom/send")]
    assert any("查无此票" in t for t in sent) and any(ticket.number in t for t in sent)


def test_a_photo_during_an_open_ticket_reaches_the_agent_and_is_still_read(wechat, fake_wechat):
    from tickets.models import Ticket

    ledger(CODE, "12345678")
    say(wechat, "o-pic", "转人工")
    ticket = Ticket.objects.get(requester_ref="o-pic")
    fake_wechat.put_media("MEDIA9", phone_photo(payload_for(CODE, "12345678"), random.Random(5)))
    fields = message_fields(
        openid="o-pic", msg_type="image", MediaId="MEDIA9", PicUrl="http://example.invalid/p.jpg"
    )
    reply = wechat.reply(wechat.post(fields))["Content"]
    wechat.post(fields)  # WeChat retries the same MsgId
    inbound = Message.objects.get(direction="in", msg_type="image")
    [added] = ticket.messages.filter(external_ref=f"wx:{inbound.pk}")
    assert added.author_kind == "user" and added.text == "[图片]"
    # The bot steps back: no check answer, the invoice it shows is a card on the ticket.
    assert not VerificationRecord.objects.exists()
    assert "已转给客服" in reply
    ticket.refresh_from_db()
    assert [i["number"] for i in ticket.invoices] == ["12345678"]
    assert ticket.invoices[0]["result"] == "用户发送的发票照片（未查验）"


def test_a_photo_without_a_ticket_opens_none(wechat, fake_wechat):
    from tickets.models import Ticket, TicketMessage

    fake_wechat.put_media("MEDIA8", phone_photo(payload_for(CODE, "12345678"), random.Random(6)))
    ledger(CODE, "12345678")
    photo(wechat, "o-pic2", media_id="MEDIA8")
    assert not Ticket.objects.exists() and not TicketMessage.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_photo_is_fetched_and_read_before_the_transaction_opens(wechat, fake_wechat, monkeypatch):
    """The download and decoding take seconds: no row lock or open transaction meanwhile."""
    from django.db import connection

    from bot.dialog.hooks import invoices as invoice_hooks

    seen = []
    real_fetch = invoice_hooks.photo_fetch

    def spying_fetch(**kwargs):
        seen.append(connection.in_atomic_block)
        return real_fetch(**kwargs)

    monkeypatch.setattr(invoice_hooks, "photo_fetch", spying_fetch)
    ledger(CODE, "12345678")
    fake_wechat.put_media("MEDIA9", phone_photo(payload_for(CODE, "12345678"), random.Random(3)))
    reply = photo(wechat, "o-photo-tx", media_id="MEDIA9", pic_url="")
    assert seen == [False]  # fetched once, outside any transaction
    assert "发票号码：12345678" in reply
    assert VerificationRecord.objects.get().result == Result.VALID
