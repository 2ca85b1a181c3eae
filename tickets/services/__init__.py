"""Writes of the help desk; `bot` and the admin/API call these, never the models directly."""

from tickets.services.assignment import ticket_assign, ticket_assign_auto
from tickets.services.errors import TicketError, TicketErrorCode
from tickets.services.escalation import (
    Escalation,
    HistoryItem,
    queue_for_category,
    ticket_bot_message_add,
    ticket_escalate,
    ticket_invoices_add,
    ticket_number_next,
    ticket_requester_message_add,
)
from tickets.services.housekeeping import ticket_close_if_due, tickets_due_for_close
from tickets.services.invoices import ticket_invoices_reverify
from tickets.services.sla import sla_breaches_find, ticket_sla_breach_record
from tickets.services.update import UNCHANGED, ticket_update
from tickets.services.workflow import (
    ALLOWED_TRANSITIONS,
    ticket_merge,
    ticket_note_add,
    ticket_priority_set,
    ticket_rate,
    ticket_reopen_by_requester,
    ticket_reply_send,
    ticket_status_change,
    ticket_tags_set,
)

__all__ = [
    "ALLOWED_TRANSITIONS",
    "UNCHANGED",
    "Escalation",
    "HistoryItem",
    "TicketError",
    "TicketErrorCode",
    "queue_for_category",
    "sla_breaches_find",
    "ticket_assign",
    "ticket_assign_auto",
    "ticket_bot_message_add",
    "ticket_close_if_due",
    "ticket_escalate",
    "ticket_invoices_add",
    "ticket_invoices_reverify",
    "ticket_merge",
    "ticket_note_add",
    "ticket_number_next",
    "ticket_priority_set",
    "ticket_rate",
    "ticket_reopen_by_requester",
    "ticket_reply_send",
    "ticket_requester_message_add",
    "ticket_sla_breach_record",
    "ticket_status_change",
    "ticket_tags_set",
    "ticket_update",
    "tickets_due_for_close",
]
