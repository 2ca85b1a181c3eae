"""An agent answers a ticket in admin, driven in headless Chromium against a live server."""

import pytest
from django.utils import timezone

from bot.conversations.models import Follower, Message
from tests.conftest import needs_chromium
from tickets import services
from tickets.models import AgentProfile, CannedResponse, Queue

pytestmark = [
    pytest.mark.browser,
    needs_chromium,
    pytest.mark.django_db(transaction=True),
    # Transactional tests start from a flushed database: put the seeded queues back.
    pytest.mark.usefixtures("seeded_queues"),
]


@pytest.fixture
def browser_page(live_server, chromium_page, settings):
    settings.WECHAT_APP_SECRET = ""  # pushes settle as `simulated`, nothing leaves the machine
    settings.TICKETS_NOTIFY_BACKEND = "bot.helpdesk.backend.WeChatTicketBackend"
    return chromium_page()


def test_agent_replies_with_a_canned_response(browser_page, live_server, django_user_model):
    expect = pytest.importorskip("playwright.sync_api").expect
    user = django_user_model.objects.create_user("agent-ui", password="pw-ui-12345", is_staff=True)
    profile = AgentProfile.objects.create(user=user, on_duty=True)
    profile.queues.set(Queue.objects.all())
    Follower.objects.create(openid="o-ui", subscribed=True, last_interaction_at=timezone.now())
    ticket = services.ticket_escalate(
        requester_ref="o-ui",
        requester_name="王五",
        category="invoice_not_found",
        reason="asked",
        text="发票查不到",
        invoices=[{"number": "24117000000212341234", "result": "查无此票"}],
        announce=False,
    ).ticket
    CannedResponse.objects.create(
        title="核查中", text="工单 {ticket_number}：正在核查 {invoice_number}"
    )

    page = browser_page
    page.goto(f"{live_server.url}/admin/login/?next=/admin/tickets/ticket/")
    page.fill("#id_username", "agent-ui")
    page.fill("#id_password", "pw-ui-12345")
    page.click("input[type=submit]")
    page.get_by_role("link", name=ticket.number).click()
    expect(page.locator("#tk-conversation")).to_contain_text("发票查不到")

    page.select_option("#tk-canned", label="核查中")
    text = page.locator("#tk-reply-text")
    expect(text).to_have_value(f"工单 {ticket.number}：正在核查 24117000000212341234")
    text.fill(text.input_value() + "，请稍候")
    page.click("#tk-reply-send")

    expect(page.locator(".messagelist")).to_contain_text("回复已提交")
    expect(page.locator("#tk-conversation")).to_contain_text("请稍候")
    expect(page.locator("#tk-conversation .tk-delivery").last).to_contain_text("模拟器")
    out = Message.objects.get(follower__openid="o-ui", channel="customer_service")
    assert "正在核查 24117000000212341234，请稍候" in out.text
