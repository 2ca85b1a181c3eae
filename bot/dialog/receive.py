"""The one receive path: claim → decide → store → route → reply.

A channel (`bot.channels.wechat`) hands every verified, parsed delivery here as an
`InboundMessage` (the receiver named in `WECHAT_MESSAGE_RECEIVER`). Each one:

1. **claim**: the delivery is claimed in the shared cache, and what the turn needs
   to decide (the conversation state, the help desk's flag, the KB version) is read
   in the same round trip; a retry waits for the first delivery's reply;
2. **decide**: `router.turn_is_simple` composes the hooks' own predicates — when no
   hook would act, the knowledge base's answer is the whole reply;
3. **store**: a simple turn is stored in one statement (follower, inbound message
   with its intent, reply: `conversation_turn_store`); any other in one transaction
   with the router's work (the dialog in a savepoint: a bug costs the user an
   apology, never the stored message);
4. the dedup outcome and the conversation state are written in one more round trip.

The database's unique `Message.dedup_key` is the backstop of the claim (cold cache,
embedded mode, two processes at once): a second copy finds the first one's reply.
"""

import logging

from django.db import IntegrityError, transaction
from django.template.loader import render_to_string

from bot.channels.wechat import dedup
from bot.channels.wechat.events import delivery_report_record
from bot.conversations import buffer
from bot.conversations.inbound import InboundMessage
from bot.conversations.models import Message
from bot.conversations.selectors import message_reply_stored
from bot.conversations.services import (
    AlreadyStored,
    conversation_turn_store,
    follower_subscribe,
    follower_unsubscribe,
    message_inbound_store,
    message_reply_store,
)
from bot.dialog import router
from bot.dialog.hooks.invoices import PhotoRead, photo_read
from bot.dialog.state import ConversationState, Turn, state_key
from bot.helpdesk.state import helpdesk_quiet_from_cached, helpdesk_state_learn, quiet_key
from bot.nlu.loader import VERSION_KEY
from support import metrics

logger = logging.getLogger(__name__)


def _turn_begin(inbound: InboundMessage, found: dict) -> Turn:
    return Turn(
        inbound=inbound,
        state=ConversationState.from_cached(found.get(state_key(inbound.openid))),
        kb_version=found.get(VERSION_KEY),
        helpdesk_quiet=helpdesk_quiet_from_cached(found.get(quiet_key(inbound.openid))),
    )


def _turn_keys(openid: str) -> list[str]:
    return [state_key(openid), quiet_key(openid), VERSION_KEY]


def _photo(inbound: InboundMessage) -> PhotoRead | None:
    """An image's photo, fetched and decoded before the transaction opens (up to 3.5 s)."""
    if inbound.msg_type != Message.Type.IMAGE:
        return None
    try:
        return photo_read(media_id=inbound.media_id[:128], pic_url=inbound.pic_url[:1024])
    except Exception:
        # The dialog reads it again inside and turns a bug into an apology.
        logger.exception("reading the photo of %s failed", inbound.dedup_key)
        return None


def _channel_event(*, message: Message, inbound: InboundMessage) -> None:
    """Keep the follower and delivery records in step with the channel's events."""
    event = message.event.lower()
    if event == "subscribe":
        follower_subscribe(follower=message.follower)
    elif event == "unsubscribe":
        follower_unsubscribe(follower=message.follower)
    elif event in ("templatesendjobfinish", "masssendjobfinish"):
        delivery_report_record(follower=message.follower, fields=inbound.fields)


def _dialog_reply(turn: Turn) -> str | None:
    """Run the router; a bug in it costs the user an apology, never the stored message."""
    try:
        with transaction.atomic():
            return router.reply_to(turn)
    except Exception:
        logger.exception("dialog failed for message %s", turn.message.pk)
        return render_to_string("bot/replies/error.txt").strip()


def _turn_store_and_route(turn: Turn) -> str | None:
    """Store the inbound message, route it, store the passive reply: one transaction."""
    with transaction.atomic():
        turn.message = message_inbound_store(inbound=turn.inbound)
        if turn.message.msg_type == Message.Type.EVENT:
            _channel_event(message=turn.message, inbound=turn.inbound)
        reply = _dialog_reply(turn)
        if reply:
            message_reply_store(message=turn.message, text=reply)
    return reply


def _simple(turn: Turn) -> bool:
    """Decide; the help desk's flag is learnt first when unknown (one query)."""
    if turn.text is None:
        return False
    try:
        if turn.helpdesk_quiet is None:
            turn.helpdesk_quiet = helpdesk_state_learn(openid=turn.openid)
        return router.turn_is_simple(turn)
    except Exception:
        # The full route runs the dialog again and turns a bug into an apology.
        logger.exception("deciding %s failed", turn.inbound.dedup_key)
        return False


def _answer(turn: Turn) -> str | None:
    """Answer and store one new delivery."""
    turn.photo = _photo(turn.inbound)
    if _simple(turn):
        reply = turn.understood.text
        stored = conversation_turn_store(
            inbound=turn.inbound, intent=turn.understood.intent, reply=reply
        )
        return reply if stored else message_reply_stored(dedup_key=turn.inbound.dedup_key)
    try:
        return _turn_store_and_route(turn)
    except AlreadyStored:
        # Another copy of this delivery was stored first (cold or local cache).
        metrics.dedup_hit("database")
        turn.state.changed = False  # this copy's turn did not happen
        return message_reply_stored(dedup_key=turn.inbound.dedup_key)


def _buffered(inbound: InboundMessage) -> str:
    """The database is unreachable: keep the delivery for the drainer, answer politely.

    Without a durable buffer (embedded mode, Redis down too) the error stands and WeChat
    retries: a message is never answered unless it is kept.
    """
    logger.warning("database unreachable while receiving %s", inbound.dedup_key)
    try:
        buffer.inbound_buffer_put(inbound=inbound)
    except buffer.BufferUnavailable:
        dedup.dedup_release(inbound.dedup_key)
        raise
    reply = render_to_string("bot/replies/store_unavailable.txt").strip()
    dedup.dedup_remember(inbound.dedup_key, reply)  # WeChat's retries get the same answer
    return reply


def message_receive(*, inbound: InboundMessage) -> str | None:
    """Store one delivery exactly once and return the passive reply (None: `success`).

    Retries of a delivery get the first delivery's reply and never run the bot again.
    """
    key = inbound.dedup_key
    claimed, found = dedup.dedup_claim(
        key, read=_turn_keys(inbound.openid), guard=inbound.replay_guard
    )
    if not claimed:
        metrics.dedup_hit("cache")
        outcome = dedup.dedup_wait(key)
        if outcome is not None:
            return outcome.reply
        # The claim expired or was released: the database decides below.
    turn = _turn_begin(inbound, found)
    try:
        try:
            reply = _answer(turn)
        except IntegrityError:
            # The unique dedup_key, raced inside the simple route's fallback: any other
            # integrity error is a real failure.
            if not Message.objects.filter(dedup_key=key).exists():
                raise
            turn.state.changed = False
            reply = message_reply_stored(dedup_key=key)
    except buffer.DATABASE_DOWN:
        return _buffered(inbound)
    except Exception:
        dedup.dedup_release(key)
        raise
    buffer.inbound_buffer_drain_if_buffered_here()
    metrics.nlu_understood(turn.understood)
    writes = ()
    if turn.state.changed:
        value = turn.state.cached()
        timeout = turn.state.ttl() if value is not None else 0  # 0: delete the key
        writes = ((state_key(inbound.openid), value, timeout),)
    dedup.dedup_remember(key, reply, also_set=writes)
    return reply
