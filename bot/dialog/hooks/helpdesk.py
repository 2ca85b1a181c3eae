"""The help desk's part of a conversation: open tickets, satisfaction, escalation.

Before the NLU: a satisfaction score for a just-resolved ticket, or a message that
joins the follower's active ticket. After it: 我的工单, 转人工 and complaints,
a message reopening a resolved ticket, the offer of a person after misses.
Each act has its predicate, read from the turn alone (the help desk's cached
"quiet" flag, the conversation state, the understood intent).
"""

import re

from django.template.loader import render_to_string

from bot.dialog.hooks.invoices import invoice_fields_read
from bot.dialog.state import Turn
from bot.helpdesk import handoff
from bot.helpdesk.backend import ticket_replies_waiting_send
from bot.helpdesk.escalation import EscalationReason, escalate, message_ref
from bot.nlu.vocabulary import Intent, NluAction
from tickets import selectors, services
from tickets.models import Ticket, TicketMessage

# Understood intents the help desk acts on whatever the follower's tickets.
ACTING_INTENTS = frozenset({Intent.TICKET_STATUS, Intent.HUMAN_AGENT, Intent.COMPLAINT})
# Intents that do not reopen a resolved ticket.
NO_REOPEN_INTENTS = frozenset({Intent.GREETING, Intent.THANKS_BYE, Intent.TICKET_STATUS})
_RATING_RE = re.compile(r"^\s*([1-5１-５一二三四五])\s*(分|星|颗星)?\s*[。.!！]?\s*$")
_RATING_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5}


def _render(template: str, **context) -> str:
    return render_to_string(template, context).strip()


def _rating(text: str) -> int | None:
    match = _RATING_RE.match(text or "")
    if not match:
        return None
    token = match.group(1)
    if token in _RATING_DIGITS:
        return _RATING_DIGITS[token]
    return int(token.translate(str.maketrans("１２３４５", "12345")))


_UNKNOWN = object()


def _active_ticket(turn: Turn) -> Ticket | None:
    """The follower's active ticket, read once per turn (both hooks ask)."""
    active = getattr(turn, "_active_ticket", _UNKNOWN)
    if active is _UNKNOWN:
        active = selectors.ticket_active_of(requester_ref=turn.openid)
        turn._active_ticket = active
    return active


# -- before the NLU -------------------------------------------------------------------
def before_wants(turn: Turn) -> bool:
    """Whether the follower may have a ticket a message joins or a score rates."""
    return turn.helpdesk_quiet is not True


def before_act(turn: Turn) -> str | None:
    """Join the active ticket (the bot still reads the message), or record a score."""
    message, text = turn.message, turn.text or ""
    active = _active_ticket(turn)
    if active is not None:
        services.ticket_requester_message_add(
            ticket=active, text=text, external_ref=message_ref(message)
        )
        # Their message reopened WeChat's window: replies that waited for it go out now.
        ticket_replies_waiting_send(ticket=active, follower_id=message.follower_id)
        if handoff.handoff_holds(ticket=active):
            return _handoff_reply(turn, active)
        return None  # the agent is silent past the limit: the bot answers (after_act)
    score = _rating(text)
    if score is not None:
        ticket = selectors.ticket_rateable_of(requester_ref=turn.openid)
        if ticket is not None:
            # A second number changes the score; it never reopens the ticket.
            services.ticket_rate(ticket=ticket, score=score)
            return _render("bot/replies/ticket_rated.txt", ticket=ticket, score=score)
    return None


def _handoff_reply(turn: Turn, ticket: Ticket) -> str:
    """A person has the conversation: no slot-filling, no FAQ; '' says nothing at all."""
    text = turn.text or ""
    if handoff.handoff_end_asked(text):
        turn.state.invoice_set(None)
        return handoff.handoff_end(ticket=ticket)
    if handoff.handoff_my_tickets_asked(text):
        return handoff.bot_say(ticket=ticket, text=my_tickets_reply(requester_ref=turn.openid))
    if handoff.handoff_person_asked(text):
        reply = _render("bot/replies/ticket_existing.txt", ticket=ticket)
        return handoff.bot_say(ticket=ticket, text=reply)
    fields = invoice_fields_read(text)
    if fields is not None:
        handoff.handoff_invoice_attach(ticket=ticket, fields=fields, source="text")
    return handoff.handoff_ack(openid=turn.openid, ticket=ticket)


# -- after the NLU --------------------------------------------------------------------
def after_wants(turn: Turn) -> bool:
    nlu = turn.understood
    if nlu.action == NluAction.ANSWER and nlu.intent in ACTING_INTENTS:
        return True
    if nlu.action == NluAction.OFFER_HUMAN or turn.state.offer:
        return True  # it remembers the offer, or acts on the pending one
    return turn.helpdesk_quiet is not True


def after_act(turn: Turn) -> str | None:
    """Act on an understood intent that needs a person or the ticket list."""
    message, nlu = turn.message, turn.understood
    if nlu.action == NluAction.ANSWER and nlu.intent == Intent.TICKET_STATUS:
        return my_tickets_reply(requester_ref=turn.openid)
    active = _active_ticket(turn) if turn.helpdesk_quiet is not True else None
    if active is None and turn.helpdesk_quiet is not True and nlu.intent not in NO_REOPEN_INTENTS:
        # Writing again soon after resolve (asking for a person included) reopens that ticket.
        reopened = _reopen(turn)
        if reopened is not None:
            return _render("bot/replies/ticket_reopened.txt", ticket=reopened)
    if nlu.action == NluAction.ANSWER and nlu.intent in (Intent.HUMAN_AGENT, Intent.COMPLAINT):
        turn.state.offer_set(False)
        reason = (
            EscalationReason.COMPLAINT if nlu.intent == Intent.COMPLAINT else EscalationReason.ASKED
        )
        return escalate(message=message, reason=reason, category=nlu.intent)
    if active is not None:
        # The agent is silent past the limit: the bot answers, says so once, and all of
        # it is on the ticket. No "didn't understand" and no offer of a person.
        if nlu.action != NluAction.ANSWER:
            reply = _render("bot/replies/ticket_joined.txt", ticket=active)
        else:
            reply = nlu.text
        note = handoff.handoff_back_note(openid=turn.openid, ticket=active)
        return handoff.bot_say(ticket=active, text=f"{note}\n\n{reply}" if note else reply)
    return _after_miss(turn)


def _reopen(turn: Turn) -> Ticket | None:
    resolved = selectors.ticket_rateable_of(requester_ref=turn.openid)
    if resolved is None:
        return None
    reopened = services.ticket_reopen_by_requester(ticket=resolved)
    if reopened is not None:
        services.ticket_requester_message_add(
            ticket=reopened, text=turn.text or "", external_ref=message_ref(turn.message)
        )
    return reopened


def _after_miss(turn: Turn) -> str | None:
    nlu = turn.understood
    if nlu.action == NluAction.OFFER_HUMAN:
        turn.state.offer_set(True)
        return None
    if nlu.action == NluAction.OUT_OF_SCOPE and turn.state.offer:
        turn.state.offer_set(False)
        return escalate(
            message=turn.message, reason=EscalationReason.MISSED, category=nlu.intent or Intent.OOS
        )
    if nlu.action in (NluAction.ANSWER, NluAction.CLARIFY):
        turn.state.offer_set(False)
    return None


# -- menu -----------------------------------------------------------------------------
def my_tickets_reply(*, requester_ref: str) -> str:
    """Show the follower's recent tickets: status and the last update."""
    tickets = selectors.tickets_of_requester(requester_ref=requester_ref, limit=3)
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


def menu_escalate(turn: Turn) -> str:
    return escalate(
        message=turn.message, reason=EscalationReason.ASKED, category=Intent.HUMAN_AGENT
    )
