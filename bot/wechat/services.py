"""Writes of the WeChat channel: receive a message once, keep followers current."""

import logging
from datetime import UTC, datetime

from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from bot.dialog.router import reply_to
from bot.wechat import dedup
from bot.wechat.followers import follower_subscribe, follower_touch, follower_unsubscribe
from bot.wechat.models import Message
from bot.wechat.outbound import delivery_report_record

logger = logging.getLogger(__name__)

_MSG_TYPES = {choice.value for choice in Message.Type}


def _wechat_time(fields: dict[str, str]) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(fields.get("CreateTime", "")), tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _store_inbound(*, fields: dict[str, str], raw: str, dedup_key: str) -> Message:
    """Insert the inbound row; IntegrityError when this delivery is already stored.

    No savepoint of its own: a duplicate aborts the caller's transaction, which
    holds nothing else yet, and `message_receive` answers it from the stored reply.
    """
    openid = fields["FromUserName"]
    msg_type = fields.get("MsgType", "").lower()
    follower = follower_touch(openid=openid)
    return Message.objects.create(
        follower=follower,
        direction=Message.Direction.IN,
        msg_type=msg_type if msg_type in _MSG_TYPES else Message.Type.UNKNOWN,
        text=fields.get("Content", "") or fields.get("Title", ""),
        media_id=fields.get("MediaId", "")[:128],
        pic_url=fields.get("PicUrl", "")[:1024],
        recognition=fields.get("Recognition", ""),
        event=fields.get("Event", "")[:40],
        event_key=fields.get("EventKey", "")[:256],
        wechat_msg_id=(fields.get("MsgId") or fields.get("MsgID") or "")[:64],
        dedup_key=dedup_key,
        raw=raw,
        wechat_created_at=_wechat_time(fields),
    )


def _stored_reply(*, dedup_key: str) -> str | None:
    reply = (
        Message.objects.filter(reply_to__dedup_key=dedup_key, channel=Message.Channel.PASSIVE)
        .values_list("text", flat=True)
        .first()
    )
    return reply or None


def _apply_channel_event(*, message: Message, fields: dict[str, str]) -> None:
    """Keep the follower and delivery records in step with WeChat's events."""
    event = message.event.lower()
    if event == "subscribe":
        follower_subscribe(follower=message.follower)
    elif event == "unsubscribe":
        follower_unsubscribe(follower=message.follower)
    elif event in ("templatesendjobfinish", "masssendjobfinish"):
        delivery_report_record(follower=message.follower, fields=fields)


def _delivery_handle(*, fields: dict[str, str], raw: str, dedup_key: str) -> str | None:
    """Store a new delivery, run the bot and store its passive reply, in one transaction."""
    with transaction.atomic():
        message = _store_inbound(fields=fields, raw=raw, dedup_key=dedup_key)
        if message.msg_type == Message.Type.EVENT:
            _apply_channel_event(message=message, fields=fields)
        reply = _dialog_reply(message=message)
        if reply:
            Message.objects.create(
                follower=message.follower,
                direction=Message.Direction.OUT,
                msg_type=Message.Type.TEXT,
                text=reply,
                reply_to=message,
                channel=Message.Channel.PASSIVE,
                delivery_status=Message.Delivery.SENT,
                sent_at=timezone.now(),
            )
    return reply


def message_receive(*, fields: dict[str, str], raw: str) -> str | None:
    """Store one WeChat delivery exactly once and return the passive reply (None: `success`).

    Retries of a delivery get the first delivery's reply and never run the bot again.
    """
    dedup_key = dedup.dedup_key_for(fields)
    if not dedup.dedup_claim(dedup_key):
        outcome = dedup.dedup_wait(dedup_key)
        if outcome is not None:
            return outcome.reply
        # The claim expired or was released: the database decides below.
    try:
        try:
            reply = _delivery_handle(fields=fields, raw=raw, dedup_key=dedup_key)
        except IntegrityError:
            # The unique dedup_key: another delivery of this message was stored first
            # (cold or local cache). Any other integrity error is a real failure.
            if not Message.objects.filter(dedup_key=dedup_key).exists():
                raise
            reply = _stored_reply(dedup_key=dedup_key)
    except Exception:
        dedup.dedup_release(dedup_key)
        raise
    dedup.dedup_remember(dedup_key, reply)
    return reply


def _dialog_reply(*, message: Message) -> str | None:
    """Run the bot; a bug in it costs the user an apology, never the stored message."""
    try:
        with transaction.atomic():
            return reply_to(message=message)
    except Exception:
        logger.exception("dialog failed for message %s", message.pk)
        return render_to_string("bot/replies/error.txt").strip()
