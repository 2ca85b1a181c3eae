"""Whether the help desk has nothing to say to a follower, remembered in the shared cache.

The webhook's fast path (`bot.dialog.fastpath`) may answer a message without
the database only when the help desk would not act on it: the follower has no
active ticket and no resolved ticket inside the reopen window (which is what a
satisfaction score or a reopening needs). Only the full path learns that, from
the database, and records it here as a short-lived "quiet" flag:

- absent: unknown, the message takes the full path, which then learns;
- "quiet": the database had nothing for this follower when the flag was set;
- "dirty": a ticket of this follower changed (`helpdesk_state_forget`), or the
  last check found one; nothing is learnt until the mark expires, so a check
  that read the database before the change cannot set the flag after it, and a
  follower talking to an agent is not checked again on every message.

Staleness is bounded twice: every ticket change forgets the flag, and the flag
lives `QUIET_TTL_SECONDS` at most.
"""

import hashlib

from django.core.cache import cache

from tickets import selectors

QUIET_TTL_SECONDS = 120
QUIET, DIRTY = "quiet", "dirty"


def quiet_key(openid: str) -> str:
    # Hashed: an openid is user input as far as cache key rules go.
    return "helpdesk:quiet:" + hashlib.sha256(openid.encode("utf-8", "replace")).hexdigest()[:32]


def helpdesk_state_forget(openid: str) -> None:
    """Drop what is known about the follower's tickets; call on every ticket change."""
    cache.set(quiet_key(openid), DIRTY, timeout=QUIET_TTL_SECONDS)


def helpdesk_state_learn(*, openid: str) -> bool:
    """Check the database and remember a quiet follower; return whether they are quiet.

    The add (not set) never overwrites a "dirty" mark or a newer value.
    """
    quiet = (
        selectors.ticket_active_of(requester_ref=openid) is None
        and selectors.ticket_rateable_of(requester_ref=openid) is None
    )
    cache.add(quiet_key(openid), QUIET if quiet else DIRTY, timeout=QUIET_TTL_SECONDS)
    return quiet
