"""An agent's day in real Chromium (#11): the follower on the simulator, the agent in admin.

Escalation after an invoice check and a photo; the agent sees the invoice card and the
photo's thumbnail, answers with a canned response whose placeholders are filled; the
follower asks again (the bot stays back, the message appears on the open ticket page
without a reload); the agent resolves with a last answer and the survey comes after it.
"""

import random
from pathlib import Path

import pytest

from bot.conversations.models import Attachment
from tests.bot.dialog.test_invoice_turn import CODE, cn, issued, ledger, payload_for
from tests.bot.invoices.photos import phone_photo
from tests.conftest import needs_chromium
from tickets.models import AgentProfile, CannedResponse, Queue, Ticket

SHOTS = Path("/tmp/fapiao-agent-day")

pytestmark = [
    pytest.mark.browser,
    needs_chromium,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("seeded_queues"),
]


@pytest.fixture
def browser(live_server, chromium_page, settings, tmp_path):
    settings.DEBUG = True  # the simulator exists in development only
    settings.SIMULATOR_ENABLED = True
    settings.MEDIA_ROOT = str(tmp_path)
    settings.WECHAT_APP_SECRET = ""  # pushes settle as `simulated`
    settings.TICKETS_NOTIFY_BACKEND = "bot.helpdesk.backend.WeChatTicketBackend"
    SHOTS.mkdir(exist_ok=True)

    def new_page(width, height):
        return chromium_page(viewport={"width": width, "height": height})

    return new_page


def test_an_agents_day(browser, live_server, django_user_model):
    expect = pytest.importorskip("playwright.sync_api").expect
    user = django_user_model.objects.create_user(
        "agent-day", password="pw-day-12345", is_staff=True
    )
    profile = AgentProfile.objects.create(user=user, on_duty=True, display_name="小王")
    profile.queues.set(Queue.objects.all())
    CannedResponse.objects.create(
        title="核查中", text="{nickname}，您好！我是{agent_name}，正在核查发票 {invoice_number}。"
    )
    ledger(CODE, "12345678")

    # The follower, on the phone: an invoice check, a photo, then a person.
    phone = browser(390, 844)
    phone.goto(f"{live_server.url}/simulator/")
    phone.get_by_test_id("follower-new").click()
    openid = phone.get_by_test_id("current-openid").inner_text()
    bot = phone.locator('[data-testid="msg-bot"] [data-testid="bubble-text"]')

    def say(text, replies):
        phone.get_by_test_id("text-input").fill(text)
        phone.get_by_test_id("send-btn").click()
        expect(bot).to_have_count(replies)
        return bot.nth(replies - 1).inner_text()

    checked = say(f"代码{CODE} 号码12345678 {cn(issued())} 校验码567890", 1)
    assert "12345678" in checked
    jpeg = phone_photo(payload_for(CODE, "12345678"), random.Random(7))
    phone.get_by_test_id("image-file").set_input_files(
        files=[{"name": "fapiao.jpg", "mimeType": "image/jpeg", "buffer": jpeg}]
    )
    expect(bot).to_have_count(2)
    # The menu's 人工客服 (the same escalation as typing 转人工).
    phone.get_by_test_id("menu-group-2").click()
    phone.get_by_test_id("menu-HUMAN_AGENT").click()
    expect(bot).to_have_count(3)
    escalated = bot.nth(2).inner_text()
    ticket = Ticket.objects.get(requester_ref=openid)
    assert ticket.number in escalated
    assert Attachment.objects.filter(message__follower__openid=openid).count() == 1

    # The agent, at the desk: the card, the thumbnail, a canned reply filled in.
    desk = browser(1440, 900)
    desk.goto(f"{live_server.url}/admin/login/?next=/admin/")
    desk.fill("#id_username", "agent-day")
    desk.fill("#id_password", "pw-day-12345")
    desk.click("input[type=submit]")
    expect(desk.locator("#my-work")).to_contain_text(ticket.number)
    desk.screenshot(path=str(SHOTS / "my-work-desktop.png"))
    desk.locator("#my-work").get_by_role("link", name=ticket.number).first.click()
    expect(desk.locator("#tk-invoices")).to_contain_text("12345678")
    thumb = desk.locator("#tk-conversation img.tk-thumb")
    expect(thumb).to_have_count(1)
    # Loaded and decoded (a broken image never gets a width: this times out and fails).
    desk.wait_for_function(
        "() => { const img = document.querySelector('#tk-conversation img.tk-thumb');"
        " return img !== null && img.complete && img.naturalWidth > 0; }"
    )
    desk.select_option("#tk-canned", label="核查中")
    text = desk.locator("#tk-reply-text")
    expect(text).to_have_value("尊敬的用户，您好！我是小王，正在核查发票 12345678。")
    expect(desk.locator("#tk-unfilled")).to_be_hidden()
    desk.click("#tk-reply-send")
    expect(desk.locator(".messagelist")).to_contain_text("回复已提交")
    assert desk.url.endswith("#tk-reply-form")  # back where the agent was
    desk.screenshot(path=str(SHOTS / "ticket-desktop.png"), full_page=True)

    # The follower gets it, and asks again: the bot stays back, the agent sees it live.
    pushed = phone.get_by_test_id("msg-pushed")
    expect(pushed.last).to_contain_text("正在核查发票 12345678")
    ack = say("大概要多久？", 4)
    assert "已转给客服" in ack and "3. 转人工" not in ack
    expect(desk.locator("#tk-conversation")).to_contain_text("大概要多久？", timeout=15_000)
    expect(desk.locator("#tk-conversation")).to_contain_text(ack.splitlines()[0])

    # The last answer and resolve in one step: the survey comes after the answer.
    desk.fill("#tk-reply-text", "已为您核实：发票状态正常，可以正常报销。")
    desk.select_option("#tk-reply-form select[name=status]", "resolved")
    desk.click("#tk-reply-send")
    expect(desk.locator(".messagelist")).to_contain_text("回复已提交")
    last = pushed.last
    expect(last).to_contain_text("可以正常报销")
    expect(last).to_contain_text("1-5")
    body = last.inner_text()
    assert body.index("可以正常报销") < body.index("1-5")
    expect(desk.locator("#tk-status")).to_have_text("已解决")
    phone.screenshot(path=str(SHOTS / "simulator-phone.png"), full_page=True)

    # The same ticket page at phone size.
    small = browser(390, 844)
    small.goto(f"{live_server.url}/admin/login/?next=/admin/tickets/ticket/{ticket.pk}/change/")
    small.fill("#id_username", "agent-day")
    small.fill("#id_password", "pw-day-12345")
    small.click("input[type=submit]")
    expect(small.locator("#tk-conversation")).to_contain_text("可以正常报销")
    small.screenshot(path=str(SHOTS / "ticket-phone.png"), full_page=True)
    kinds = list(ticket.messages.order_by("created_at", "id").values_list("author_kind", "text"))
    answer = next(i for i, (k, t) in enumerate(kinds) if k == "agent" and "可以正常报销" in t)
    assert any("1-5" in t for _, t in kinds[answer + 1 :])
