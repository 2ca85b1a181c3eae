"""Help-desk settings, read on every call (never at import time)."""

from django.conf import settings

DEFAULTS = {
    # A requester who writes within this many days of resolve reopens the ticket.
    "TICKETS_REOPEN_DAYS": 7,
    # A ticket waiting on the requester this many days without an answer closes itself.
    "TICKETS_AUTO_CLOSE_DAYS": 7,
    # Business minutes an agent spends on a ticket on average, for wait estimates.
    "TICKETS_MINUTES_PER_TICKET": 20,
    # How many channel messages before the escalation are copied into the ticket.
    "TICKETS_CONTEXT_MESSAGES": 20,
    # Category (intent id) -> priority at creation; others get "normal".
    "TICKETS_CATEGORY_PRIORITY": {"complaint": "high"},
    # Dotted path of `callable(ticket) -> list[dict]` that re-verifies the ticket's invoices.
    "TICKETS_INVOICE_REVERIFY": "",
}


def conf(name: str):
    return getattr(settings, name, DEFAULTS[name])
