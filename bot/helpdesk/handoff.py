"""While a person has the conversation the bot steps back.

A follower with an active ticket (assigned, or waiting for an agent) talks to the
help desk: every message joins the ticket, the bot says at most a short
acknowledgement once per `TICKETS_HANDOFF_ACK_MINUTES`, invoice fields and photos
become invoice cards, and 结束人工 / 取消 ends the human part. The bot answers again
once the ticket is resolved, or when no agent wrote for
`TICKETS_HANDOFF_SILENCE_MINUTES` (the follower is told once). Everything the bot
says meanwhile is written on the ticket too, so the agent reads what the follower read.
"""

import re
from datetime import datetime, timedelta

from django.core.cache import cache
from django.template.loader import render_to_string
from django.utils import timezone

from bot.conversations.keys import follower_key
from bot.helpdesk.invoices import invoice_snapshot
from bot.invoices.extraction import InvoiceFields
from tickets import services
from tickets.models import Ticket, TicketMessage
from tickets.services.config import conf

# What ends the human part of the conversation (normalised: no spaces or punctuation).
_END_WORDS = frozenset({"结束人工", "结束人工服务", "取消人工", "取消", "不用人工了", "不需要人工"})
_PUNCTUATION = re.compile(r"[\s，。,.!！?？~～]+")
_MY_TICKETS = frozenset({"我的工单", "工单", "查工单", "工单进度"})
_PERSON = frozenset({"转人工", "人工", "人工客服", "找客服", "客服", "真人"})


def _render(template: str, **context) -> str:
    return render_to_string(template, context).strip()


def _core(text: str) -> str:
    return _PUNCTUATION.sub("", text or "")


def handoff_end_asked(text: str) -> bool:
    """Whether the follower asks to leave the person and come back to the bot."""
    return _core(text) in _END_WORDS


def handoff_my_tickets_asked(text: str) -> bool:
    return _core(text) in _MY_TICKETS


def handoff_person_asked(text: str) -> bool:
    return _core(text) in _PERSON


def handoff_silent(*, ticket: Ticket, now: datetime | None = None) -> bool:
    """Whether the agent has been silent past the limit while the follower waits."""
    now = now or timezone.now()
    limit = timedelta(minutes=conf("TICKETS_HANDOFF_SILENCE_MINUTES"))
    if ticket.status == Ticket.Status.PENDING:
        return False  # the agent waits on the follower, not the other way round
    spoke = ticket.last_agent_message_at or ticket.created_at
    return now - spoke > limit


def handoff_holds(*, ticket: Ticket | None) -> bool:
    """Whether the bot steps back for this ticket (active, the agent not silent)."""
    return ticket is not None and ticket.is_active and not handoff_silent(ticket=ticket)


def bot_say(*, ticket: Ticket, text: str) -> str:
    """Write what the bot tells the follower on the ticket; return the text."""
    if text:
        services.ticket_requester_message_add(
            ticket=ticket, text=text, author_kind=TicketMessage.AuthorKind.BOT
        )
    return text


def _ack_due(*, openid: str, ticket: Ticket) -> bool:
    key = follower_key(openid, f"handoff_ack:{ticket.pk}")
    return cache.add(key, 1, timeout=conf("TICKETS_HANDOFF_ACK_MINUTES") * 60)


def handoff_ack(*, openid: str, ticket: Ticket) -> str:
    """The short acknowledgement, at most once per the ack period ('' = say nothing)."""
    if not _ack_due(openid=openid, ticket=ticket):
        return ""
    return bot_say(ticket=ticket, text=_render("bot/replies/ticket_handoff_ack.txt", ticket=ticket))


def handoff_back_note(*, openid: str, ticket: Ticket) -> str:
    """Tell the follower once (per silence) that the bot answers while the agent is away."""
    key = follower_key(openid, f"handoff_back:{ticket.pk}")
    if not cache.add(key, 1, timeout=conf("TICKETS_HANDOFF_SILENCE_MINUTES") * 60):
        return ""
    return _render("bot/replies/ticket_handoff_silent.txt", ticket=ticket)


def handoff_end(*, ticket: Ticket) -> str:
    """End the human part at the follower's word: the ticket is resolved, the bot is back."""
    services.ticket_status_change(
        ticket=ticket, status=Ticket.Status.RESOLVED, note="用户结束人工服务", notify=False
    )
    text = _render("bot/replies/ticket_handoff_ended.txt", ticket=ticket)
    return bot_say(ticket=ticket, text=text)


def handoff_invoice_attach(*, ticket: Ticket, fields: InvoiceFields, source: str) -> dict:
    """Put an invoice the follower sent meanwhile on the ticket as a card (not checked yet)."""
    snapshot = invoice_snapshot(fields=fields, result="", reply="", diagnosis="")
    snapshot["result"] = _render("bot/replies/ticket_handoff_invoice_result.txt", source=source)
    services.ticket_invoices_add(ticket=ticket, invoices=[snapshot])
    return snapshot
