"""Writes of the WeChat channel: receive a message once, keep followers current.

Two paths store a delivery. The full path runs the dialog inside one transaction
(Follower, inbound Message, channel events, the bot's reply, the stored passive
reply). The fast path (`bot.dialog.fastpath`) serves the common question from a
follower the help desk has nothing to say to: the reply is computed first, from
the shared cache only, and the follower, the inbound message and the reply are
then stored in one SQL statement on PostgreSQL. Both store the same rows.
"""

import functools
import logging
from datetime import UTC, datetime

from django.db import IntegrityError, connection, transaction
from django.db.models import Field, Model
from django.template.loader import render_to_string
from django.utils import timezone

from bot.dialog.fastpath import Decision, fastpath_decide, fastpath_keys
from bot.dialog.helpdesk_state import helpdesk_state_learn
from bot.dialog.invoice_turn import PhotoRead, photo_read
from bot.dialog.router import reply_to
from bot.nlu.loader import kb_version_known
from bot.nlu.services import NluReply
from bot.wechat import dedup
from bot.wechat.followers import follower_subscribe, follower_touch, follower_unsubscribe
from bot.wechat.group_commit import group_commit_execute
from bot.wechat.models import Follower, Message
from bot.wechat.outbound import delivery_report_record

logger = logging.getLogger(__name__)

_MSG_TYPES = {choice.value for choice in Message.Type}


def _wechat_time(fields: dict[str, str]) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(fields.get("CreateTime", "")), tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _inbound_values(*, fields: dict[str, str], raw: str, dedup_key: str) -> dict:
    """The inbound row's fields (without its follower), the same on both paths."""
    msg_type = fields.get("MsgType", "").lower()
    return {
        "direction": Message.Direction.IN,
        "msg_type": msg_type if msg_type in _MSG_TYPES else Message.Type.UNKNOWN,
        "text": fields.get("Content", "") or fields.get("Title", ""),
        "media_id": fields.get("MediaId", "")[:128],
        "pic_url": fields.get("PicUrl", "")[:1024],
        "recognition": fields.get("Recognition", ""),
        "event": fields.get("Event", "")[:40],
        "event_key": fields.get("EventKey", "")[:256],
        "wechat_msg_id": (fields.get("MsgId") or fields.get("MsgID") or "")[:64],
        "dedup_key": dedup_key,
        "raw": raw,
        "wechat_created_at": _wechat_time(fields),
    }


def _reply_values(*, text: str) -> dict:
    """The stored passive reply's fields (without its follower and inbound message)."""
    return {
        "direction": Message.Direction.OUT,
        "msg_type": Message.Type.TEXT,
        "text": text,
        "channel": Message.Channel.PASSIVE,
        "delivery_status": Message.Delivery.SENT,
        "sent_at": timezone.now(),
    }


def _free_text(fields: dict[str, str]) -> str | None:
    """The text the router reads with the NLU (typed, or voice recognition); else None."""
    msg_type = fields.get("MsgType", "").lower()
    if msg_type == Message.Type.TEXT:
        return fields.get("Content", "") or fields.get("Title", "")
    if msg_type == Message.Type.VOICE:
        recognition = fields.get("Recognition", "")
        return recognition if recognition.strip() else None
    return None


# -- the full path ------------------------------------------------------------------------
def _store_inbound(*, fields: dict[str, str], raw: str, dedup_key: str) -> Message:
    """Insert the inbound row; IntegrityError when this delivery is already stored.

    No savepoint of its own: a duplicate aborts the caller's transaction, which
    holds nothing else yet, and `message_receive` answers it from the stored reply.
    """
    follower = follower_touch(openid=fields["FromUserName"])
    return Message.objects.create(
        follower=follower, **_inbound_values(fields=fields, raw=raw, dedup_key=dedup_key)
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


def _delivery_handle(
    *,
    fields: dict[str, str],
    raw: str,
    dedup_key: str,
    understood: NluReply | None = None,
    photo: PhotoRead | None = None,
) -> str | None:
    """Store a new delivery, run the bot and store its passive reply, in one transaction."""
    with transaction.atomic():
        message = _store_inbound(fields=fields, raw=raw, dedup_key=dedup_key)
        if message.msg_type == Message.Type.EVENT:
            _apply_channel_event(message=message, fields=fields)
        reply = _dialog_reply(message=message, understood=understood, photo=photo)
        if reply:
            Message.objects.create(
                follower=message.follower, reply_to=message, **_reply_values(text=reply)
            )
    return reply


def _dialog_reply(
    *, message: Message, understood: NluReply | None = None, photo: PhotoRead | None = None
) -> str | None:
    """Run the bot; a bug in it costs the user an apology, never the stored message."""
    try:
        with transaction.atomic():
            return reply_to(message=message, understood=understood, photo=photo)
    except Exception:
        logger.exception("dialog failed for message %s", message.pk)
        return render_to_string("bot/replies/error.txt").strip()


# -- the fast path ------------------------------------------------------------------------
_LITERALS = {None: "NULL", "": "''", True: "TRUE", False: "FALSE"}


_NOW, _CALLED = object(), object()  # defaults computed for each row: the time, a callable


@functools.cache
def _row_plan(model: type[Model]) -> tuple[tuple[Field, str, object], ...]:
    """Per concrete non-pk field: the field, its quoted column, its prepared default.

    Built once per model and process (PostgreSQL only: the fast statement is not used
    on other databases): a row then costs one preparation per given value only.
    """
    quote = connection.ops.quote_name
    plan = []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            default = _NOW
        elif field.has_default() and callable(field.default):
            default = _CALLED
        else:
            default = field.get_db_prep_save(field.get_default(), connection)
        plan.append((field, quote(field.column), default))
    return tuple(plan)


def _insert_columns(model: type[Model], given: dict, from_sql: dict[str, str]):
    """Columns, value expressions and parameters of one row, from the model's concrete fields.

    Every field not given takes its model default (and auto_now/auto_now_add the time),
    exactly as `Model.objects.create` would, so a field added later with a default needs
    no change here. `from_sql`: attnames whose value is an SQL expression (a CTE's column).
    """
    columns, values, params = [], [], []
    for field, column, default in _row_plan(model):
        columns.append(column)
        if field.attname in from_sql:
            values.append(from_sql[field.attname])
            continue
        if field.attname in given:
            value = field.get_db_prep_save(given[field.attname], connection)
        elif default is _NOW or default is _CALLED:
            raw = timezone.now() if default is _NOW else field.get_default()
            value = field.get_db_prep_save(raw, connection)
        else:
            value = default
        if value is None or value == "" or isinstance(value, bool):
            # Written out, not bound: fewer parameters keep psycopg's parsed-query cache
            # in play (it skips statements with more than 50) and these need no quoting.
            values.append(_LITERALS[value])
        else:
            values.append("%s")  # an untyped literal: PostgreSQL reads it as the column's type
            params.append(value)
    return columns, values, params


def _fast_insert(*, openid: str, inbound: dict, reply: dict) -> tuple[str, list]:
    """One statement: follower upsert, inbound row unless stored already, the reply row.

    The follower is only touched when the delivery is new (a retry changes nothing,
    as on the full path, where the duplicate's transaction rolls back); an empty
    result means the delivery was stored already. A single statement is atomic.
    """
    quote = connection.ops.quote_name
    follower_table, message_table = quote(Follower._meta.db_table), quote(Message._meta.db_table)
    follower_pk, message_pk = quote(Follower._meta.pk.column), quote(Message._meta.pk.column)
    message_follower = quote(Message._meta.get_field("follower").column)
    now = timezone.now()
    f_cols, f_vals, f_params = _insert_columns(
        Follower, {"openid": openid, "subscribed": True, "last_interaction_at": now}, {}
    )
    i_cols, i_vals, i_params = _insert_columns(
        Message, inbound, {"follower_id": f"f.{follower_pk}"}
    )
    r_cols, r_vals, r_params = _insert_columns(
        Message, reply, {"follower_id": f"m.{message_follower}", "reply_to_id": f"m.{message_pk}"}
    )
    last = quote(Follower._meta.get_field("last_interaction_at").column)
    openid_column = quote(Follower._meta.get_field("openid").column)
    dedup_column = quote(Message._meta.get_field("dedup_key").column)
    # Identifiers come from the models' meta, quoted; every value is a parameter or one of
    # the fixed literals of _LITERALS.
    sql = (
        f"WITH f AS (INSERT INTO {follower_table} ({', '.join(f_cols)}) "  # noqa: S608
        f"VALUES ({', '.join(f_vals)}) "
        f"ON CONFLICT ({openid_column}) DO UPDATE SET {last} = EXCLUDED.{last} "
        f"WHERE NOT EXISTS (SELECT 1 FROM {message_table} WHERE {dedup_column} = %s) "
        f"RETURNING {follower_pk}), "
        f"m AS (INSERT INTO {message_table} ({', '.join(i_cols)}) "
        f"SELECT {', '.join(i_vals)} FROM f "
        f"ON CONFLICT ({dedup_column}) DO NOTHING RETURNING {message_pk}, {message_follower}) "
        f"INSERT INTO {message_table} ({', '.join(r_cols)}) "
        f"SELECT {', '.join(r_vals)} FROM m RETURNING {message_pk}"
    )
    return sql, [*f_params, inbound["dedup_key"], *i_params, *r_params]


def _fast_store(*, fields: dict[str, str], raw: str, dedup_key: str, nlu: NluReply) -> bool:
    """Store the follower, the inbound message and its reply; False when already stored."""
    inbound = {**_inbound_values(fields=fields, raw=raw, dedup_key=dedup_key), "intent": nlu.intent}
    reply = _reply_values(text=nlu.text)
    openid = fields["FromUserName"]
    if connection.vendor != "postgresql":
        # Embedded mode (SQLite): the same rows through the ORM; a duplicate raises
        # IntegrityError, which `message_receive` answers from the stored reply.
        with transaction.atomic():
            message = Message.objects.create(follower=follower_touch(openid=openid), **inbound)
            Message.objects.create(follower=message.follower, reply_to=message, **reply)
        return True
    sql, params = _fast_insert(openid=openid, inbound=inbound, reply=reply)
    # Shares a commit with the other requests of this process (bot/wechat/group_commit.py).
    return group_commit_execute(sql=sql, params=params)


_FULL = Decision(fast=False)


def _photo_read(fields: dict[str, str]) -> PhotoRead | None:
    """An image message's photo, fetched and decoded before the transaction opens."""
    if fields.get("MsgType", "").lower() != Message.Type.IMAGE:
        return None
    try:
        return photo_read(
            media_id=fields.get("MediaId", "")[:128], pic_url=fields.get("PicUrl", "")[:1024]
        )
    except Exception:
        # The dialog reads it again inside and turns a bug into an apology.
        logger.exception("reading the photo of %s failed", fields.get("MsgId", ""))
        return None


def _handle(
    *, fields: dict[str, str], raw: str, dedup_key: str, text: str | None, found: dict | None
) -> tuple[str | None, Decision]:
    """Answer and store one new delivery by the fast path when it may, else the full path.

    `text`: the message's free text (`_free_text`); `found`: the cached values of
    `fastpath_keys`, None when the message cannot go fast.
    Returns the reply and the decision (whose cache writes the caller sends).
    """
    if text is None or found is None:
        photo = _photo_read(fields)
        return _delivery_handle(fields=fields, raw=raw, dedup_key=dedup_key, photo=photo), _FULL
    openid = fields["FromUserName"]
    try:
        decision = fastpath_decide(openid=openid, text=text, found=found)
    except Exception:
        # The full path runs the dialog again and turns a bug into an apology.
        logger.exception("fast path decision failed for %s", dedup_key)
        decision = _FULL
    if decision.fast:
        if _fast_store(fields=fields, raw=raw, dedup_key=dedup_key, nlu=decision.understood):
            return decision.understood.text, decision
        return _stored_reply(dedup_key=dedup_key), _FULL
    with kb_version_known(decision.kb_version):
        reply = _delivery_handle(
            fields=fields, raw=raw, dedup_key=dedup_key, understood=decision.understood
        )
    if decision.learn:
        try:
            helpdesk_state_learn(openid=openid)
        except Exception:
            # The message is stored and answered; the next one simply learns again.
            logger.exception("could not learn the help-desk state of %s", openid)
    return reply, _FULL


def message_receive(*, fields: dict[str, str], raw: str) -> str | None:
    """Store one WeChat delivery exactly once and return the passive reply (None: `success`).

    Retries of a delivery get the first delivery's reply and never run the bot again.
    """
    dedup_key = dedup.dedup_key_for(fields)
    text = _free_text(fields)
    keys = None if text is None else fastpath_keys(openid=fields["FromUserName"], text=text)
    # One round trip: the claim, and what the fast path needs to decide.
    claimed, found = dedup.dedup_claim(dedup_key, read=keys or [])
    if not claimed:
        outcome = dedup.dedup_wait(dedup_key)
        if outcome is not None:
            return outcome.reply
        # The claim expired or was released: the database decides below.
    try:
        try:
            reply, decision = _handle(
                fields=fields,
                raw=raw,
                dedup_key=dedup_key,
                text=text,
                found=None if keys is None else found,
            )
        except IntegrityError:
            # The unique dedup_key: another delivery of this message was stored first
            # (cold or local cache). Any other integrity error is a real failure.
            if not Message.objects.filter(dedup_key=dedup_key).exists():
                raise
            reply, decision = _stored_reply(dedup_key=dedup_key), _FULL
    except Exception:
        dedup.dedup_release(dedup_key)
        raise
    dedup.dedup_remember(
        dedup_key, reply, also_set=decision.cache_writes, also_delete=decision.cache_deletes
    )
    return reply
