"""The one write path of followers and messages.

Every row goes through the row builder of `support.db.rows` (the same rows
`objects.create` would write, as one statement each). The webhook's common turn
— a follower's question answered from the knowledge base — composes the same
three builders into one statement (`conversation_turn_store`), which on
PostgreSQL shares a commit with concurrent requests (`support.db.group_commit`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from bot.conversations.inbound import InboundMessage
from bot.conversations.models import Attachment, Follower, Message
from support.db.group_commit import group_commit_execute
from support.db.rows import column, insert_sql, row_build

# The follower's fields read back by the upsert (the others are deferred, read if used).
_TOUCH_FIELDS = ("pk", "openid", "subscribed", "last_interaction_at", "nickname", "remark")
_TOUCH_NAMES = ["id", "openid", "subscribed", "last_interaction_at", "nickname", "remark"]


class AlreadyStored(Exception):
    """This delivery's inbound message is stored already (a retry, or a concurrent copy)."""


def _follower_upsert(*, openid: str, now, returning=("pk",), only_if: str = ""):
    row = row_build(Follower, {"openid": openid, "subscribed": True, "last_interaction_at": now})
    sql = insert_sql(
        Follower,
        row,
        conflict=("openid",),
        update=("last_interaction_at",),
        update_where=only_if,
        returning=returning,
    )
    return sql, list(row.params)


def follower_touch(*, openid: str) -> Follower:
    """Get or create the follower (subscribed) and record that they just interacted."""
    now = timezone.now()
    sql, params = _follower_upsert(openid=openid, now=now, returning=_TOUCH_FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        pk, _, subscribed, _, nickname, remark = cursor.fetchone()
    return Follower.from_db(
        connection.alias, _TOUCH_NAMES, [pk, openid, bool(subscribed), now, nickname, remark]
    )


def follower_subscribe(*, follower: Follower) -> None:
    follower.subscribed = True
    follower.subscribed_at = timezone.now()
    follower.save(update_fields=["subscribed", "subscribed_at"])


def follower_unsubscribe(*, follower: Follower) -> None:
    """Mark the follower gone; their history stays."""
    follower.subscribed = False
    follower.unsubscribed_at = timezone.now()
    follower.save(update_fields=["subscribed", "unsubscribed_at"])


def _message_insert(*, follower: Follower, values: dict, dedup: bool) -> Message | None:
    # The time is set here (not by the database) so the instance needs nothing read back.
    given = {"created_at": timezone.now(), **values, "follower_id": follower.pk}
    row = row_build(Message, given)
    sql = insert_sql(Message, row, conflict=("dedup_key",) if dedup else ())
    with connection.cursor() as cursor:
        cursor.execute(sql, list(row.params))
        found = cursor.fetchone()
    if found is None:
        return None
    message = Message(**given)
    message.pk = found[0]
    message.follower = follower
    message._state.adding, message._state.db = False, connection.alias
    return message


def message_inbound_store(*, inbound: InboundMessage, intent: str = "") -> Message:
    """Store a delivery's inbound message and touch its follower, inside the caller's atomic.

    Raises AlreadyStored when the delivery is stored already: the caller's transaction
    then holds nothing of this delivery and should be left (the exception does that).
    """
    follower = follower_touch(openid=inbound.openid)
    values = {**inbound.row_values(), "intent": intent}
    message = _message_insert(follower=follower, values=values, dedup=True)
    if message is None:
        raise AlreadyStored(inbound.dedup_key)
    return message


def message_reply_store(*, message: Message, text: str) -> Message:
    """Store the passive reply the webhook answered a message with."""
    values = {**_reply_values(text), "reply_to_id": message.pk}
    return _message_insert(follower=message.follower, values=values, dedup=False)


def _reply_values(text: str) -> dict:
    return {
        "direction": Message.Direction.OUT,
        "msg_type": Message.Type.TEXT,
        "text": text,
        "channel": Message.Channel.PASSIVE,
        "delivery_status": Message.Delivery.SENT,
        "sent_at": timezone.now(),
    }


def message_intent_set(*, message: Message, intent: str) -> None:
    """Record what the bot understood an inbound message to be about."""
    message.intent = intent
    message.save(update_fields=["intent"])


def conversation_turn_store(*, inbound: InboundMessage, intent: str, reply: str) -> bool:
    """Store a whole turn (follower, inbound message with its intent, passive reply) at once.

    False when the delivery was stored already (nothing is written then: a retry
    does not even touch the follower). On PostgreSQL one statement composed from the
    same row builders, sharing a commit with concurrent requests; elsewhere the
    single writers above in one transaction.
    """
    values = {**inbound.row_values(), "intent": intent}
    if connection.vendor != "postgresql":
        try:
            with transaction.atomic():
                message = message_inbound_store(inbound=inbound, intent=intent)
                message_reply_store(message=message, text=reply)
        except AlreadyStored:
            return False
        return True
    sql, params = _turn_sql(openid=inbound.openid, values=values, reply=reply)
    return group_commit_execute(sql=sql, params=params)


def _turn_sql(*, openid: str, values: dict, reply: str) -> tuple[str, list]:
    """Follower upsert → inbound row unless stored → reply row, as one CTE statement."""
    message_table = connection.ops.quote_name(Message._meta.db_table)
    dedup = column(Message, "dedup_key")
    f_sql, f_params = _follower_upsert(
        openid=openid,
        now=timezone.now(),
        # Identifiers from _meta, quoted; the dedup key is a parameter.
        only_if=f"NOT EXISTS (SELECT 1 FROM {message_table} WHERE {dedup} = %s)",  # noqa: S608
    )
    inbound = row_build(Message, values, from_sql={"follower_id": f"f.{column(Follower, 'pk')}"})
    m_sql = insert_sql(
        Message, inbound, source="f", conflict=("dedup_key",), returning=("pk", "follower")
    )
    answer = row_build(
        Message,
        _reply_values(reply),
        from_sql={
            "follower_id": f"m.{column(Message, 'follower')}",
            "reply_to_id": f"m.{column(Message, 'pk')}",
        },
    )
    r_sql = insert_sql(Message, answer, source="m")
    sql = f"WITH f AS ({f_sql}), m AS ({m_sql}) {r_sql}"
    return sql, [*f_params, values["dedup_key"], *inbound.params, *answer.params]


@dataclass(frozen=True)
class Pushed:
    """A message the bot pushed (a notice sent or simulated), as conversation views show it."""

    follower_id: int
    channel: str  # a Message.Channel value
    text: str
    delivery_status: str  # a Message.Delivery value
    wechat_msg_id: str = ""
    template_id: str = ""
    payload: dict | None = None


def messages_pushed_record(*, pushed: list[Pushed], sent_at) -> list[Message]:
    """Store outbound rows for pushes, in one INSERT; returned in the order given."""
    return Message.objects.bulk_create(
        [
            Message(
                follower_id=p.follower_id,
                direction=Message.Direction.OUT,
                msg_type=Message.Type.TEXT
                if p.channel == Message.Channel.CUSTOMER_SERVICE
                else Message.Type.TEMPLATE,
                text=p.text,
                channel=p.channel,
                delivery_status=p.delivery_status,
                wechat_msg_id=p.wechat_msg_id,
                sent_at=sent_at,
                template_id=p.template_id,
                payload=p.payload,
            )
            for p in pushed
        ]
    )


def followers_unsubscribed_record(*, follower_ids: set[int], at) -> None:
    """WeChat said these followers are gone (43004): mark them, keep their history."""
    Follower.objects.filter(pk__in=follower_ids).update(subscribed=False, unsubscribed_at=at)


def message_delivery_report_record(
    *, follower: Follower, wechat_msg_id: str, delivered: bool, status: str
) -> None:
    """A delivery report (template or mass send) on the pushed rows with that msgid."""
    Message.objects.filter(
        direction=Message.Direction.OUT, wechat_msg_id=wechat_msg_id, follower=follower
    ).update(
        delivery_status=Message.Delivery.DELIVERED if delivered else Message.Delivery.FAILED,
        error_message="" if delivered else status[:255],
    )


def _content_type(data: bytes) -> str:
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data[:4] == b"GIF8":
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"#!AMR"):
        return "audio/amr"
    return "application/octet-stream"


def attachment_store(*, message: Message, kind: str, data: bytes) -> Attachment:
    """Keep a message's file under MEDIA_ROOT (once per message and kind)."""
    existing = message.attachments.filter(kind=kind).first()
    if existing is not None:
        return existing
    content_type = _content_type(data)
    extension = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif"}.get(
        content_type, content_type.rsplit("/", 1)[-1]
    )
    attachment = Attachment(message=message, kind=kind, content_type=content_type, size=len(data))
    # A random name: the path says nothing of the follower.
    attachment.file.save(f"{uuid.uuid4().hex}.{extension}", ContentFile(data), save=False)
    try:
        with transaction.atomic():
            attachment.save()
    except IntegrityError:
        attachment.file.delete(save=False)
        return message.attachments.get(kind=kind)
    return attachment
