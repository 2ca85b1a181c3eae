"""The inbound buffer: deliveries answered while the database was unreachable.

With PostgreSQL down the webhook still answers WeChat (a polite reply) and keeps the
delivery in a Redis stream (`XADD`), as durable as the Redis server's persistence. The
drainer (`inbound_buffer_drain`: a Celery beat task, and the next request of a process
that buffered) stores each entry with the one write path when the database is back;
`Message.dedup_key` makes that idempotent, so a delivery buffered twice (a WeChat retry
during the outage) or drained by two processes at once is stored once.
"""

import json
import logging
from dataclasses import asdict, fields
from datetime import datetime

from django.db import InterfaceError, OperationalError, transaction

from bot.conversations.inbound import InboundMessage
from bot.conversations.services import AlreadyStored, message_inbound_store
from support.buffer import (
    INBOUND_STREAM,
    BufferUnavailable,
    stream_ack,
    stream_pending,
    stream_put,
    stream_read,
)

logger = logging.getLogger(__name__)

try:
    import psycopg

    _DRIVER_DOWN: tuple[type[BaseException], ...] = (
        psycopg.OperationalError,
        psycopg.InterfaceError,
    )
except ImportError:  # pragma: no cover (SQLite only)
    _DRIVER_DOWN = ()

# The database did not answer: refused, reset, timed out (the group commit runs psycopg
# directly, so its errors are the driver's own).
DATABASE_DOWN = (OperationalError, InterfaceError, TimeoutError, *_DRIVER_DOWN)

_FIELDS = {f.name for f in fields(InboundMessage)}
_buffered_here = False  # this process buffered: its next healthy request drains

__all__ = ["DATABASE_DOWN", "BufferUnavailable", "inbound_buffer_drain", "inbound_buffer_put"]


def _encoded(inbound: InboundMessage) -> str:
    values = asdict(inbound)
    values["sent_at"] = inbound.sent_at.isoformat() if inbound.sent_at else None
    return json.dumps(values, ensure_ascii=False)


def _decoded(raw: str) -> InboundMessage:
    values = {k: v for k, v in json.loads(raw).items() if k in _FIELDS}
    if values.get("sent_at"):
        values["sent_at"] = datetime.fromisoformat(values["sent_at"])
    return InboundMessage(**values)


def inbound_buffer_put(*, inbound: InboundMessage) -> None:
    """Keep one delivery for the drainer; raise BufferUnavailable when it cannot be kept."""
    global _buffered_here
    stream_put(INBOUND_STREAM, _encoded(inbound))
    _buffered_here = True
    logger.warning("database unavailable: delivery %s buffered", inbound.dedup_key)


def inbound_buffer_pending() -> int:
    """How many deliveries wait in the buffer (0 without one)."""
    return stream_pending(INBOUND_STREAM)


def inbound_buffer_drain(*, limit: int = 500) -> int:
    """Store buffered deliveries (oldest first) and remove them; returns how many were new.

    Stops at the first database error: the entries stay for the next run.
    """
    global _buffered_here
    stored = 0
    entries = stream_read(INBOUND_STREAM, limit=limit)
    for entry_id, raw in entries:
        try:
            inbound = _decoded(raw)
        except (TypeError, ValueError):
            logger.error("inbound buffer entry %s is unreadable; dropped", entry_id)
            stream_ack(INBOUND_STREAM, entry_id)
            continue
        try:
            with transaction.atomic():
                message_inbound_store(inbound=inbound)
            stored += 1
        except AlreadyStored:
            pass
        stream_ack(INBOUND_STREAM, entry_id)
    if len(entries) < limit:
        _buffered_here = False
    return stored


def inbound_buffer_drain_if_buffered_here() -> None:
    """Drain after a healthy request when this process buffered during an outage."""
    if not _buffered_here:
        return
    try:
        inbound_buffer_drain(limit=100)
    except Exception:
        logger.exception("draining the inbound buffer failed; the beat task retries")
