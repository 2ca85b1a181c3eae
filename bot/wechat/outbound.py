"""Pushing messages to followers: record first, send after commit, record the outcome.

A pushed message is a Message row (direction out) created in the caller's
transaction; a Celery task delivers it after commit. In embedded mode (no
WECHAT_APP_SECRET) delivery marks it `simulated` and the simulator shows it.
"""

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bot.wechat.client import Errcode, WeChatApiError, wechat_client, wechat_configured
from bot.wechat.followers import follower_unsubscribe
from bot.wechat.models import Follower, Message

logger = logging.getLogger(__name__)

MAX_DELIVERY_ATTEMPTS = 5


class DeliveryRetry(Exception):
    """A transient failure: the task should retry after `countdown` seconds."""

    def __init__(self, countdown: int) -> None:
        super().__init__(f"retry in {countdown}s")
        self.countdown = countdown


def _queue_delivery(message: Message) -> None:
    from bot.wechat.tasks import deliver_message

    transaction.on_commit(lambda: deliver_message.delay(message.pk))


def outbound_text_send(*, follower: Follower, text: str) -> Message:
    """Queue a customer-service text message to the follower."""
    message = Message.objects.create(
        follower=follower,
        direction=Message.Direction.OUT,
        msg_type=Message.Type.TEXT,
        text=text,
        channel=Message.Channel.CUSTOMER_SERVICE,
        delivery_status=Message.Delivery.PENDING,
    )
    _queue_delivery(message)
    return message


def outbound_template_send(
    *, follower: Follower, template_id: str, data: dict, text: str, url: str = ""
) -> Message:
    """Queue a template message; `text` is how it reads in conversation views."""
    message = Message.objects.create(
        follower=follower,
        direction=Message.Direction.OUT,
        msg_type=Message.Type.TEMPLATE,
        text=text,
        channel=Message.Channel.TEMPLATE,
        delivery_status=Message.Delivery.PENDING,
        template_id=template_id,
        payload={"data": data, "url": url},
    )
    _queue_delivery(message)
    return message


def _send(message: Message) -> dict:
    openid = message.follower.openid
    if message.channel == Message.Channel.TEMPLATE:
        payload = message.payload or {}
        return wechat_client().call(
            lambda client: client.message.send_template(
                openid, message.template_id, payload.get("data", {}), url=payload.get("url") or None
            )
        )
    return wechat_client().call(lambda client: client.message.send_text(openid, message.text))


def message_deliver(*, message_id: int, attempt: int = 1) -> Message | None:
    """Deliver one pending outbound message; a no-op for anything already settled."""
    with transaction.atomic():
        message = (
            Message.objects.select_for_update()
            .select_related("follower")
            .filter(pk=message_id, direction=Message.Direction.OUT)
            .first()
        )
        if message is None or message.delivery_status != Message.Delivery.PENDING:
            return message
        if not wechat_configured():
            _settle(message, Message.Delivery.SIMULATED)
            return message
        try:
            result = _send(message)
        except WeChatApiError as exc:
            return _handle_failure(message, exc, attempt)
        message.wechat_msg_id = str(result.get("msgid", "") or "")
        _settle(message, Message.Delivery.SENT)
        return message


def _settle(message: Message, status: str, *, error: WeChatApiError | None = None) -> None:
    message.delivery_status = status
    message.sent_at = timezone.now() if status != Message.Delivery.FAILED else None
    message.error_code = error.errcode if error else None
    message.error_message = (error.errmsg if error else "")[:255]
    message.save(
        update_fields=["delivery_status", "sent_at", "error_code", "error_message", "wechat_msg_id"]
    )


def _handle_failure(message: Message, error: WeChatApiError, attempt: int) -> Message:
    if error.transient and attempt < MAX_DELIVERY_ATTEMPTS:
        raise DeliveryRetry(countdown=min(2**attempt, 60))
    _settle(message, Message.Delivery.FAILED, error=error)
    if error.errcode == Errcode.USER_UNSUBSCRIBED:
        follower_unsubscribe(follower=message.follower)
    elif error.errcode == Errcode.OUTSIDE_REPLY_WINDOW and message.channel == (
        Message.Channel.CUSTOMER_SERVICE
    ):
        _fall_back_to_template(message)
    logger.warning("wechat delivery of message %s failed: %s", message.pk, error)
    return message


def _fall_back_to_template(message: Message) -> None:
    """Outside the 48-hour window only a template message reaches the follower."""
    template_id = settings.WECHAT_DEFAULT_TEMPLATE_ID
    if not template_id:
        return
    outbound_template_send(
        follower=message.follower,
        template_id=template_id,
        data={"content": {"value": message.text[:200]}},
        text=message.text,
    )


def delivery_report_record(*, follower: Follower, fields: dict[str, str]) -> None:
    """Record TEMPLATESENDJOBFINISH / MASSSENDJOBFINISH against the message it reports on."""
    msg_id = fields.get("MsgID") or fields.get("MsgId")
    if not msg_id:
        return
    status = fields.get("Status") or ""
    delivered = status.lower() in ("success", "send success")
    Message.objects.filter(
        direction=Message.Direction.OUT, wechat_msg_id=msg_id, follower=follower
    ).update(
        delivery_status=Message.Delivery.DELIVERED if delivered else Message.Delivery.FAILED,
        error_message="" if delivered else status[:255],
    )
