"""Whether the help desk has nothing to say to a follower, remembered in the shared cache.

The receive path stores a common turn at once only when the help desk would not
act on it: the follower has no active ticket and no resolved ticket inside the
reopen window (what a satisfaction score or a reopening needs). That is learnt
from the database in one query and kept here as a short-lived flag:

- absent: unknown; the receive path learns it (`helpdesk_state_learn`, one query);
- "quiet": the database had nothing for this follower when the flag was set;
- "dirty": a ticket of this follower changed (`helpdesk_state_forget`), or the
  last check found one; nothing is learnt until the mark expires, so a check
  that read the database before the change cannot set the flag after it, and a
  follower talking to an agent is not checked again on every message.

Staleness is bounded twice: every ticket change forgets the flag, and the flag
lives `QUIET_TTL_SECONDS` at most.
"""

from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone

from bot.conversations.keys import follower_key
from tickets.models import Ticket
from tickets.services.config import conf

QUIET_TTL_SECONDS = 120
QUIET, DIRTY = "quiet", "dirty"


def quiet_key(openid: str) -> str:
    return follower_key(openid, "helpdesk")


def helpdesk_state_forget(openid: str) -> None:
    """Drop what is known about the follower's tickets; call on every ticket change."""
    cache.set(quiet_key(openid), DIRTY, timeout=QUIET_TTL_SECONDS)


def helpdesk_quiet_from_cached(value) -> bool | None:
    """What a cached flag says: True quiet, False not, None unknown."""
    if value == QUIET:
        return True
    if value == DIRTY:
        return False
    return None


def helpdesk_has_tickets(*, requester_ref: str) -> bool:
    """One query: an active ticket, or a resolved one a score or a message can still reach."""
    since = timezone.now() - timezone.timedelta(days=conf("TICKETS_REOPEN_DAYS"))
    reachable = Q(status__in=Ticket.ACTIVE_STATUSES) | Q(
        status=Ticket.Status.RESOLVED, resolved_at__gte=since
    )
    return Ticket.objects.filter(
        reachable, requester_ref=requester_ref, merged_into__isnull=True
    ).exists()


def helpdesk_state_learn(*, openid: str) -> bool:
    """Check the database and remember the answer; return whether the follower is quiet.

    The add (not set) never overwrites a "dirty" mark or a newer value.
    """
    quiet = not helpdesk_has_tickets(requester_ref=openid)
    cache.add(quiet_key(openid), QUIET if quiet else DIRTY, timeout=QUIET_TTL_SECONDS)
    return quiet
