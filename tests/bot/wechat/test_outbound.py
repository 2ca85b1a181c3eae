"""Outbound delivery against the local fake WeChat API over real HTTP."""

import pytest

from bot.wechat.models import Follower, Message
from bot.wechat.outbound import (
    DeliveryRetry,
    message_deliver,
    outbound_template_send,
    outbound_text_send,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def follower():
    return Follower.objects.create(openid="o-out", subscribed=True)


def _pending_text(follower, text="您的工单已受理"):
    # Created directly: these tests drive delivery themselves instead of on commit.
    return Message.objects.create(
        follower=follower,
        direction="out",
        msg_type="text",
        text=text,
        channel="customer_service",
        delivery_status="pending",
    )


def test_embedded_mode_records_instead_of_sending(
    follower, settings, django_capture_on_commit_callbacks
):
    settings.WECHAT_APP_SECRET = ""
    with django_capture_on_commit_callbacks(execute=True):
        message = outbound_text_send(follower=follower, text="模拟推送")
    message.refresh_from_db()
    assert message.delivery_status == "simulated"


def test_customer_service_message_reaches_wechat(
    follower, fake_wechat, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        message = outbound_text_send(follower=follower, text="您的发票已入库 🎉")
    message.refresh_from_db()
    assert message.delivery_status == "sent"
    [call] = fake_wechat.calls("/cgi-bin/message/custom/send")
    assert call.body == {
        "touser": "o-out",
        "msgtype": "text",
        "text": {"content": "您的发票已入库 🎉"},
    }
    assert len(fake_wechat.calls("/cgi-bin/stable_token")) == 1


def test_template_message_records_wechat_msgid(
    follower, fake_wechat, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        message = outbound_template_send(
            follower=follower, template_id="TPL1", data={"first": {"value": "x"}}, text="x"
        )
    message.refresh_from_db()
    assert message.delivery_status == "sent"
    assert message.wechat_msg_id.isdigit()
    [call] = fake_wechat.calls("/cgi-bin/message/template/send")
    assert call.body["template_id"] == "TPL1"
    assert call.body["touser"] == "o-out"


def test_token_is_shared_between_clients(follower, fake_wechat):
    for _ in range(3):
        message_deliver(message_id=_pending_text(follower).pk)
    assert len(fake_wechat.calls("/cgi-bin/stable_token")) == 1
    assert len(fake_wechat.calls("/cgi-bin/message/custom/send")) == 3


@pytest.mark.parametrize("errcode", [40001, 40014, 42001])
def test_token_errors_refresh_once_and_retry(follower, fake_wechat, errcode):
    message_deliver(message_id=_pending_text(follower).pk)  # warm the token
    fake_wechat.fail_next("/cgi-bin/message/custom/send", errcode)
    message = message_deliver(message_id=_pending_text(follower).pk)
    assert message.delivery_status == "sent"
    assert len(fake_wechat.calls("/cgi-bin/message/custom/send")) == 3


def test_revoked_token_is_replaced(follower, fake_wechat):
    message_deliver(message_id=_pending_text(follower).pk)
    fake_wechat.revoke_tokens()
    assert message_deliver(message_id=_pending_text(follower).pk).delivery_status == "sent"
    assert len(fake_wechat.calls("/cgi-bin/stable_token")) == 2


def test_token_error_twice_fails_without_looping(follower, fake_wechat):
    fake_wechat.fail_next("/cgi-bin/message/custom/send", 40001, 40001, 40001)
    message = message_deliver(message_id=_pending_text(follower).pk)
    assert message.delivery_status == "failed"
    assert message.error_code == 40001
    assert len(fake_wechat.calls("/cgi-bin/message/custom/send")) == 2


def test_unsubscribed_follower_is_marked(follower, fake_wechat):
    fake_wechat.fail_next("/cgi-bin/message/custom/send", 43004)
    message = message_deliver(message_id=_pending_text(follower).pk)
    assert message.delivery_status == "failed"
    follower.refresh_from_db()
    assert not follower.subscribed


def test_outside_window_falls_back_to_template(
    follower, fake_wechat, settings, django_capture_on_commit_callbacks
):
    settings.WECHAT_DEFAULT_TEMPLATE_ID = "TPL-NOTICE"
    fake_wechat.fail_next("/cgi-bin/message/custom/send", 45015)
    with django_capture_on_commit_callbacks(execute=True):
        message = message_deliver(message_id=_pending_text(follower, "窗口外的回复").pk)
    assert (message.delivery_status, message.error_code) == ("failed", 45015)
    template = Message.objects.get(channel="template")
    assert template.delivery_status == "sent"
    [call] = fake_wechat.calls("/cgi-bin/message/template/send")
    assert call.body["data"]["content"]["value"] == "窗口外的回复"


def test_rate_limit_backs_off_then_gives_up(follower, fake_wechat):
    fake_wechat.fail_next("/cgi-bin/message/custom/send", 45009, 45009)
    message = _pending_text(follower)
    with pytest.raises(DeliveryRetry) as retry:
        message_deliver(message_id=message.pk, attempt=1)
    assert retry.value.countdown == 2
    message.refresh_from_db()
    assert message.delivery_status == "pending"
    final = message_deliver(message_id=message.pk, attempt=5)
    assert (final.delivery_status, final.error_code) == ("failed", 45009)


def test_network_failure_is_transient(follower, settings):
    settings.WECHAT_APP_SECRET = "s"
    settings.WECHAT_API_BASE_URL = "http://127.0.0.1:9"  # discard port: connection refused
    with pytest.raises(DeliveryRetry):
        message_deliver(message_id=_pending_text(follower).pk, attempt=1)


def test_delivering_twice_sends_once(follower, fake_wechat):
    message = _pending_text(follower)
    message_deliver(message_id=message.pk)
    message_deliver(message_id=message.pk)
    assert len(fake_wechat.calls("/cgi-bin/message/custom/send")) == 1


def test_menu_command_creates_menu(fake_wechat):
    from django.core.management import call_command

    call_command("wechat_menu_create")
    [call] = fake_wechat.calls("/cgi-bin/menu/create")
    assert call.body["button"][1]["key"] == "MY_TICKETS"
