"""The help desk's part of a conversation: escalation, open tickets, satisfaction.

The router calls `helpdesk_turn` before the bot reads a message and
`helpdesk_after_nlu` once it understood it; `escalate` is also called by the
invoice part when a diagnosis says a person must act.
"""

import hashlib
import re
from datetime import timedelta

from django.core.cache import cache
from django.template.loader import render_to_string
from django.utils import timezone

from bot.nlu.services import OFFER_HUMAN, NluReply
from bot.wechat.models import Follower, Message
from tickets import selectors, services
from tickets.models import Ticket, TicketMessage

# Escalation reasons (Ticket.escalation_reason).
ASKED, COMPLAINT, MISSED, DIAGNOSIS, WATCH_EXPIRED = (
    "asked",
    "complaint",
    "missed",
    "diagnosis",
    "watch_expired",
)
# After the bot offered a person, one more miss escalates (within this time).
OFFER_TTL_SECONDS = 30 * 60
# Conversation copied into a new ticket: at most this far back.
HISTORY_WINDOW = timedelta(hours=24)
# Intents that do not reopen a resolved ticket.
NO_REOPEN_INTENTS = frozenset({"greeting", "thanks_bye", "ticket_status"})
_RATING_RE = re.compile(r"^\s*([1-5１-５一二三四五])\s*(分|星|颗星)?\s*[。.!！]?\s*$")
_RATING_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5}


def _render(template: str, **context) -> str:
    return render_to_string(template, context).strip()


def _ref(message: Message) -> str:
    return f"wx:{message.pk}"


def _offer_key(openid: str) -> str:
    return "helpdesk:offered:" + hashlib.sha256(openid.encode()).hexdigest()[:32]


def _rating(text: str) -> int | None:
    match = _RATING_RE.match(text or "")
    if not match:
        return None
    token = match.group(1)
    if token in _RATING_DIGITS:
        return _RATING_DIGITS[token]
    return int(token.translate(str.maketrans("１２３４５", "12345")))


_UNKNOWN = object()


def _active_ticket(message: Message) -> Ticket | None:
    """The follower's active ticket, read once per inbound message (both hooks ask)."""
    active = getattr(message, "_helpdesk_active_ticket", _UNKNOWN)
    if active is _UNKNOWN:
        active = selectors.ticket_active_of(requester_ref=message.follower.openid)
        message._helpdesk_active_ticket = active
    return active


def helpdesk_turn(*, message: Message, text: str) -> str | None:
    """Handle a message that belongs to the help desk before the bot reads it.

    A satisfaction score for a just-resolved ticket is recorded and thanked for;
    a message while a ticket is active joins it (the agent is alerted) and the
    bot still reads it, so "我的工单" or a question it knows keeps working.
    """
    openid = message.follower.openid
    active = _active_ticket(message)
    if active is not None:
        services.ticket_requester_message_add(ticket=active, text=text, external_ref=_ref(message))
        return None
    score = _rating(text)
    if score is not None:
        ticket = selectors.ticket_rateable_of(requester_ref=openid)
        if ticket is not None:
            # A second number changes the score; it never reopens the ticket.
            services.ticket_rate(ticket=ticket, score=score)
            return _render("bot/replies/ticket_rated.txt", ticket=ticket, score=score)
    return None


def helpdesk_after_nlu(*, message: Message, nlu: NluReply) -> str | None:
    """Act on an understood intent that needs a person or the ticket list."""
    openid = message.follower.openid
    if nlu.action == "answer" and nlu.intent == "ticket_status":
        return my_tickets_reply(message=message)
    active = _active_ticket(message)
    if active is None and nlu.intent not in NO_REOPEN_INTENTS:
        # Writing again soon after resolve (asking for a person included) reopens that ticket.
        reopened = _reopen(message=message)
        if reopened is not None:
            return _render("bot/replies/ticket_reopened.txt", ticket=reopened)
    if nlu.action == "answer" and nlu.intent in ("human_agent", "complaint"):
        cache.delete(_offer_key(openid))
        reason = COMPLAINT if nlu.intent == "complaint" else ASKED
        return escalate(message=message, reason=reason, category=nlu.intent)
    if active is not None:
        # A person is on it: no "didn't understand" and no offer of a person.
        if nlu.action != "answer":
            return _render("bot/replies/ticket_joined.txt", ticket=active)
        return None
    return _after_miss(message=message, nlu=nlu)


def _reopen(*, message: Message) -> Ticket | None:
    resolved = selectors.ticket_rateable_of(requester_ref=message.follower.openid)
    if resolved is None:
        return None
    reopened = services.ticket_reopen_by_requester(ticket=resolved)
    if reopened is not None:
        services.ticket_requester_message_add(
            ticket=reopened, text=message.text or message.recognition, external_ref=_ref(message)
        )
    return reopened


def _after_miss(*, message: Message, nlu: NluReply) -> str | None:
    key = _offer_key(message.follower.openid)
    if nlu.action == OFFER_HUMAN:
        cache.set(key, 1, timeout=OFFER_TTL_SECONDS)
        return None
    if nlu.action == "oos" and cache.get(key):
        cache.delete(key)
        return escalate(message=message, reason=MISSED, category=nlu.intent or "oos")
    if nlu.action in ("answer", "clarify"):
        cache.delete(key)
    return None


def _history(*, follower: Follower, before: Message | None) -> list[services.HistoryItem]:
    from tickets.services.config import conf

    since = timezone.now() - HISTORY_WINDOW
    qs = follower.messages.filter(created_at__gte=since).exclude(msg_type=Message.Type.EVENT)
    if before is not None:
        qs = qs.filter(pk__lt=before.pk)
    rows = list(qs.order_by("-id")[: conf("TICKETS_CONTEXT_MESSAGES")])[::-1]
    return [
        services.HistoryItem(
            author_kind=TicketMessage.AuthorKind.USER
            if m.direction == Message.Direction.IN
            else TicketMessage.AuthorKind.BOT,
            text=m.display_text or "-",
            at=m.created_at,
            external_ref=f"wx:{m.pk}",
        )
        for m in rows
    ]


def _open(
    *,
    follower: Follower,
    message: Message | None,
    reason: str,
    category: str,
    invoices: list[dict] | None,
    subject: str,
    announce: bool,
) -> services.Escalation:
    text = ""
    if message is not None and message.msg_type != Message.Type.EVENT:
        text = message.display_text
    history = _history(follower=follower, before=message)
    if not subject:
        said = [h.text for h in history if h.author_kind == TicketMessage.AuthorKind.USER]
        subject = _render(
            "bot/replies/ticket_subject.txt",
            reason=reason,
            category=category,
            text=text if category not in ("human_agent", "oos") else "",
            said=said[-1] if said else "",
        )
    return services.ticket_escalate(
        requester_ref=follower.openid,
        requester_name=follower.nickname,
        category=category,
        reason=reason,
        subject=subject,
        text=text,
        external_ref=_ref(message) if message is not None else None,
        history=history,
        invoices=invoices,
        announce=announce,
    )


def escalate(
    *,
    message: Message,
    reason: str,
    category: str,
    invoices: list[dict] | None = None,
    subject: str = "",
) -> str:
    """Hand the conversation to a person and say what happens next.

    `invoices`: snapshots of the invoices involved (fields, verification
    history, diagnosis; see docs/helpdesk.md), shown to the agent.
    """
    result = _open(
        follower=message.follower,
        message=message,
        reason=reason,
        category=category,
        invoices=invoices,
        subject=subject,
        announce=False,  # the reply below is the announcement
    )
    ticket = result.ticket
    if result.created:
        wait = selectors.ticket_wait_estimate(ticket=ticket)
        reply = _render("bot/replies/ticket_created.txt", ticket=ticket, wait=wait, reason=reason)
    else:
        reply = _render("bot/replies/ticket_existing.txt", ticket=ticket)
    services.ticket_requester_message_add(
        ticket=ticket, text=reply, author_kind=TicketMessage.AuthorKind.BOT
    )
    return reply


def escalate_follower(
    *,
    follower: Follower,
    reason: str,
    category: str,
    invoices: list[dict] | None = None,
    subject: str = "",
) -> Ticket:
    """Escalate outside a conversation turn (e.g. an invoice watch expired); the follower is
    told by a pushed notice."""
    return _open(
        follower=follower,
        message=None,
        reason=reason,
        category=category,
        invoices=invoices,
        subject=subject,
        announce=True,
    ).ticket


def my_tickets_reply(*, message: Message) -> str:
    """Show the follower's recent tickets: status and the last update."""
    tickets = selectors.tickets_of_requester(requester_ref=message.follower.openid, limit=3)
    if not tickets:
        return _render("bot/replies/menu_my_tickets.txt")
    rows = []
    for ticket in tickets:
        last = (
            ticket.messages.filter(author_kind=TicketMessage.AuthorKind.AGENT)
            .order_by("-created_at", "-id")
            .first()
        )
        rows.append({"ticket": ticket, "last_reply": last})
    return _render("bot/replies/ticket_list.txt", rows=rows)
