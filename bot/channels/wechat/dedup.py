"""The fast path of WeChat retry deduplication, in the shared cache.

WeChat retries a message three times when it does not get an answer within
five seconds, and the retries can land on different web processes. The first
delivery claims the key with an atomic add; a retry that finds the claim waits
for the first one's reply. The database unique constraint on
Message.dedup_key is the backstop when the cache is cold or local.
"""

import hashlib
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from bot.conversations.inbound import ReplayGuard
from support.cache import add_and_get_many, set_and_delete_many

_PENDING = "__pending__"
_CLAIM_SECONDS = 10  # short: a crashed handler must not swallow WeChat's later retries
_REMEMBER_SECONDS = 300


def dedup_key_for(fields: dict[str, str], *, delivery_id: str = "") -> str:
    """WeChat's identity of a delivery: MsgId per sender, or the event's own fields.

    WeChat's rule of CreateTime + Event + EventKey is for events only. A message without
    a MsgId is keyed by `delivery_id` (the signed timestamp, nonce and body of its
    request), so two texts in the same second are never merged while a true retry (the
    same request again) still is.
    """
    openid = fields.get("FromUserName", "")
    msg_id = fields.get("MsgId") or fields.get("MsgID")
    if fields.get("MsgType") != "event":
        if msg_id:
            return f"msg:{openid}:{msg_id}"
        return f"req:{openid}:{hashlib.sha256(delivery_id.encode()).hexdigest()}"
    return ":".join(
        [
            "evt",
            openid,
            fields.get("CreateTime", ""),
            fields.get("Event", ""),
            fields.get("EventKey", "") or msg_id or "",
        ]
    )[:400]


def _cache_key(dedup_key: str) -> str:
    return f"wechat:dedup:{dedup_key}"


@dataclass(frozen=True)
class Outcome:
    """What the first delivery answered: a reply text, or None for `success`."""

    reply: str | None


class Replayed(Exception):
    """The delivery's signed request was seen before with another body: a forged replay."""


def dedup_claim(
    dedup_key: str, *, read: list[str] = (), guard: ReplayGuard | None = None
) -> tuple[bool, dict]:
    """Claim a delivery; False when another request already holds or handled it.

    `read`: cache keys the caller needs next, fetched in the same round trip; returns
    (claimed, the values found of them). `guard`: the signed request's replay guard,
    remembered in the same round trip; raises Replayed (and gives the claim up) when
    the request was seen with another body.
    """
    claim = (_cache_key(dedup_key), _PENDING, _CLAIM_SECONDS)
    if guard is None:
        (claimed,), found = add_and_get_many(adds=[claim], keys=list(read))
        return claimed, found
    # The guard first: its value read back is the body of whoever used the request first.
    guard_entry = (guard.key, guard.body_digest, guard.seconds)
    (_, claimed), found = add_and_get_many(adds=[guard_entry, claim], keys=[*read, guard.key])
    first_body = found.pop(guard.key, None)
    if first_body is not None and first_body != guard.body_digest:
        if claimed:
            dedup_release(dedup_key)
        raise Replayed(dedup_key)
    return claimed, found


def dedup_release(dedup_key: str) -> None:
    """Give the claim up after a failure so WeChat's next retry is handled afresh."""
    cache.delete(_cache_key(dedup_key))


def dedup_remember(
    dedup_key: str,
    reply: str | None,
    *,
    also_set: tuple[tuple[str, object, int], ...] = (),
    also_delete: tuple[str, ...] = (),
) -> None:
    """Record the outcome for retries; `also_*`: the caller's cache writes, same round trip."""
    set_and_delete_many(
        values=[(_cache_key(dedup_key), {"reply": reply}, _REMEMBER_SECONDS), *also_set],
        deletes=list(also_delete),
    )


def dedup_wait(dedup_key: str) -> Outcome | None:
    """Wait for the first delivery's outcome; None if it did not finish in time."""
    deadline = time.monotonic() + settings.WECHAT_DUPLICATE_WAIT_SECONDS
    delay = 0.02
    while True:
        value = cache.get(_cache_key(dedup_key))
        if isinstance(value, dict):
            return Outcome(reply=value.get("reply"))
        if value is None or time.monotonic() >= deadline:
            return None
        time.sleep(delay)
        delay = min(delay * 2, 0.2)
