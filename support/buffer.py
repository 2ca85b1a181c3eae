"""A durable stream in Redis for work that must outlive a database outage.

`XADD` entries survive a web process and wait for a drainer (the inbound buffer of
`bot.conversations.buffer`); they are as durable as the Redis server's persistence
(AOF in production, docs/resilience.md). Entries are removed only once their drainer
has stored them.
"""

from django.core.cache import DEFAULT_CACHE_ALIAS, caches

from support.cache import OUTAGE_ERRORS, ReusingRedisCache

INBOUND_STREAM = "fapiao:inbound-buffer"


class BufferUnavailable(Exception):
    """No durable stream: the shared cache is not Redis, or Redis does not answer."""


def _redis():
    cache = caches[DEFAULT_CACHE_ALIAS]
    if not isinstance(cache, ReusingRedisCache):
        raise BufferUnavailable("the shared cache is not Redis")
    return cache._cache.get_client(None, write=True)


def stream_put(stream: str, payload: str) -> None:
    """Append one entry; raise BufferUnavailable when it cannot be kept."""
    try:
        _redis().xadd(stream, {"m": payload})
    except OUTAGE_ERRORS as exc:
        raise BufferUnavailable(exc.__class__.__name__) from exc


def stream_pending(stream: str) -> int:
    """How many entries wait (0 without a stream)."""
    try:
        return int(_redis().xlen(stream))
    except (BufferUnavailable, *OUTAGE_ERRORS):
        return 0


def stream_read(stream: str, *, limit: int) -> list[tuple[str, str]]:
    """The oldest `limit` entries as (entry id, payload)."""
    out = []
    for entry_id, values in _redis().xrange(stream, count=limit):
        raw = values.get(b"m", values.get("m", b""))
        out.append(
            (
                entry_id.decode() if isinstance(entry_id, bytes) else entry_id,
                raw.decode() if isinstance(raw, bytes) else raw,
            )
        )
    return out


def stream_ack(stream: str, entry_id: str) -> None:
    """Remove one entry its drainer has stored."""
    _redis().xdel(stream, entry_id)
