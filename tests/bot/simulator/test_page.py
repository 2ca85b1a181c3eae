"""The simulator page in headless Chromium, talking to the real webhook of a live server."""

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import transaction
from django.template.loader import render_to_string

from bot.conversations.models import Follower, Message
from bot.notices.services import notice_send
from tests.conftest import needs_chromium

SCREENSHOT = Path("/tmp/simulator.png")
MENU_SCREENSHOT = Path("/tmp/simulator-menu.png")
# A 1x1 PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005ff02feb1d4"
    "9f320000000049454e44ae426082"
)

pytestmark = [
    pytest.mark.browser,
    needs_chromium,
]


@pytest.fixture
def page(live_server, chromium_page, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    settings.WECHAT_APP_SECRET = ""  # pushes settle as `simulated`, nothing leaves the machine
    page = chromium_page(viewport={"width": 1000, "height": 860})
    page.goto(f"{live_server.url}/simulator/")
    return page


def bot_bubbles(page):
    return page.locator('[data-testid="msg-bot"] [data-testid="bubble-text"]')


def wait_for_bot_reply(page, count):
    """Wait until the page shows `count` bot bubbles; return the last one's text."""
    expect = pytest.importorskip("playwright.sync_api").expect
    expect(bot_bubbles(page)).to_have_count(count)
    return bot_bubbles(page).nth(count - 1).inner_text()


def passive_replies(openid):
    return list(
        Message.objects.filter(
            follower__openid=openid, channel=Message.Channel.PASSIVE
        ).values_list("text", flat=True)
    )


@pytest.mark.django_db(transaction=True)
def test_chat_through_the_real_webhook(page):
    expect = pytest.importorskip("playwright.sync_api").expect
    webhook_urls = []
    page.on(
        "request",
        lambda request: webhook_urls.append(request.url) if "/wechat/" in request.url else None,
    )

    # A new follower, then subscribe: the welcome text comes back as a passive reply.
    page.get_by_test_id("follower-new").click()
    openid = page.get_by_test_id("current-openid").inner_text()
    assert re.fullmatch(r"sim-[0-9a-f]{8}", openid)
    expect(page.get_by_test_id("follower-select")).to_have_value(openid)
    page.get_by_test_id("follow-btn").click()
    welcome = wait_for_bot_reply(page, 1)
    assert welcome == render_to_string("bot/replies/welcome.txt").strip()
    expect(page.get_by_test_id("follower-status")).to_have_text("已关注")

    # Text.
    page.get_by_test_id("text-input").fill("发票查不到怎么办")
    page.get_by_test_id("send-btn").click()
    expect(page.get_by_test_id("msg-user").last).to_contain_text("发票查不到怎么办")
    wait_for_bot_reply(page, 2)

    # Voice with recognition text, then an unrecognised one: the bot asks to type.
    page.get_by_test_id("voice-toggle").click()
    page.get_by_test_id("text-input").fill("数电票怎么查")
    page.get_by_test_id("send-btn").click()
    expect(page.get_by_test_id("msg-user").last).to_contain_text("[语音]数电票怎么查")
    wait_for_bot_reply(page, 3)
    page.get_by_test_id("send-btn").click()
    unrecognised = wait_for_bot_reply(page, 4)
    assert unrecognised == render_to_string("bot/replies/voice_unrecognised.txt").strip()
    page.get_by_test_id("voice-toggle").click()

    # Menu: a button inside a group, and a top-level one.
    page.get_by_test_id("menu-group-0").click()
    expect(page.get_by_test_id("submenu-0")).to_be_visible()
    page.screenshot(path=str(MENU_SCREENSHOT))
    page.get_by_test_id("menu-VERIFY_INVOICE").click()
    expect(page.get_by_test_id("submenu-0")).to_be_hidden()
    wait_for_bot_reply(page, 5)
    page.get_by_test_id("menu-MY_TICKETS").click()
    wait_for_bot_reply(page, 6)

    # An image: uploaded, then sent as an image message with its PicUrl.
    page.get_by_test_id("image-file").set_input_files(
        files=[{"name": "fapiao.png", "mimeType": "image/png", "buffer": PNG}]
    )
    expect(page.locator('[data-testid="msg-user"] img')).to_have_count(1)
    wait_for_bot_reply(page, 7)

    # Safe mode: the request is encrypted, the reply is still decrypted and shown.
    page.get_by_test_id("aes-toggle").check()
    expect(page.get_by_test_id("aes-badge")).to_be_visible()
    page.get_by_test_id("text-input").fill("加密模式还能回复吗")
    page.get_by_test_id("send-btn").click()
    encrypted_reply = wait_for_bot_reply(page, 8)
    assert encrypted_reply
    assert parse_qs(urlsplit(webhook_urls[-1]).query)["encrypt_type"] == ["aes"]
    assert "encrypt_type" not in parse_qs(urlsplit(webhook_urls[0]).query)

    # A pushed customer-service message shows up by polling, with its delivery status.
    with transaction.atomic():
        notice_send(
            kind="ticket_event",
            follower_id=Follower.objects.get(openid=openid).pk,
            text="您的工单已受理",
            idempotency_key="simulator-page:accepted",
        )
    pushed = page.get_by_test_id("msg-pushed")
    expect(pushed).to_have_count(1)
    expect(pushed).to_contain_text("您的工单已受理")
    expect(pushed.get_by_test_id("channel-label")).to_have_text("客服消息")
    expect(pushed.get_by_test_id("delivery-status")).to_have_text("模拟器（未真实发送）")

    # A refused request (signature tampered on the way) shows the status code in the chat.
    page.route(
        "**/wechat/**",
        lambda route: route.continue_(url=route.request.url.replace("signature=", "signature=0")),
    )
    page.get_by_test_id("aes-toggle").uncheck()
    page.get_by_test_id("text-input").fill("这条会被拒绝")
    page.get_by_test_id("send-btn").click()
    error = page.get_by_test_id("msg-error")
    expect(error).to_have_attribute("data-status", "403")
    expect(error).to_contain_text("HTTP 403")
    page.unroute("**/wechat/**")

    page.screenshot(path=str(SCREENSHOT), full_page=True)

    # Unsubscribe: the webhook answers `success`, the follower is marked gone.
    page.get_by_test_id("unfollow-btn").click()
    expect(page.get_by_test_id("follower-status")).to_have_text("未关注")

    follower = Follower.objects.get(openid=openid)
    assert not follower.subscribed
    inbound = list(
        follower.messages.filter(direction=Message.Direction.IN).values_list(
            "msg_type", "text", "recognition", "event", "event_key"
        )
    )
    assert inbound == [
        ("event", "", "", "subscribe", ""),
        ("text", "发票查不到怎么办", "", "", ""),
        ("voice", "", "数电票怎么查", "", ""),
        ("voice", "", "", "", ""),
        ("event", "", "", "CLICK", "VERIFY_INVOICE"),
        ("event", "", "", "CLICK", "MY_TICKETS"),
        ("image", "", "", "", ""),
        ("text", "加密模式还能回复吗", "", "", ""),
        ("event", "", "", "unsubscribe", ""),
    ]
    image = follower.messages.get(msg_type=Message.Type.IMAGE)
    assert image.pic_url.startswith(f"{page.url.split('/simulator/')[0]}/simulator/media/sim-")
    assert image.media_id.startswith("sim-")
    shown = [bot_bubbles(page).nth(i).inner_text() for i in range(8)]
    assert passive_replies(openid) == shown
    pushed_row = follower.messages.get(channel=Message.Channel.CUSTOMER_SERVICE)
    assert pushed_row.delivery_status == Message.Delivery.SIMULATED
