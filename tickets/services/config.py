"""Help-desk settings, read on every call (never at import time)."""

from django.conf import settings

DEFAULTS = {
    # A requester who writes within this many days of resolve reopens the ticket.
    "TICKETS_REOPEN_DAYS": 7,
    # A ticket waiting on the requester this many days without an answer closes itself.
    "TICKETS_AUTO_CLOSE_DAYS": 7,
    # Business minutes an agent spends on a ticket on average, for wait estimates.
    "TICKETS_MINUTES_PER_TICKET": 20,
    # At most this many channel messages of the session before the escalation are copied
    # into the ticket (earlier ones are named by a note, never silently cut).
    "TICKETS_CONTEXT_MESSAGES": 200,
    # Category (intent id) -> priority at creation; others get "normal".
    "TICKETS_CATEGORY_PRIORITY": {"complaint": "high"},
    # Dotted path of `callable(ticket) -> list[dict]` that re-verifies the ticket's invoices.
    "TICKETS_INVOICE_REVERIFY": "",
    # While a person has the ticket the bot only acknowledges, at most once per this.
    "TICKETS_HANDOFF_ACK_MINUTES": 10,
    # The bot answers again when no agent wrote for this long (the follower is told).
    "TICKETS_HANDOFF_SILENCE_MINUTES": 30,
}


def conf(name: str):
    return getattr(settings, name, DEFAULTS[name])
