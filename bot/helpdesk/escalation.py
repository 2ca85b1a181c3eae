"""Hand a conversation to a person: open (or join) a ticket with what the agent needs.

Called by the dialog (a follower asked, complained, or a diagnosis needs a person
during the turn) and, through `bot.invoices.signals`, by background work (a pushed
check's diagnosis, an expired watch), which then announces the ticket by a notice.
"""

import re
from datetime import timedelta
from enum import StrEnum

from django.template.loader import render_to_string
from django.utils import timezone

from bot.conversations.models import Follower, Message
from bot.helpdesk.invoices import diagnosis_category, outcome_snapshot, session_snapshots
from bot.invoices.extraction import InvoiceFields
from bot.invoices.services import CheckOutcome
from bot.nlu.vocabulary import Intent
from tickets import selectors, services
from tickets.models import Ticket, TicketMessage
from tickets.services.config import conf


class EscalationReason(StrEnum):
    """Why a conversation reached a person (Ticket.escalation_reason)."""

    ASKED = "asked"
    COMPLAINT = "complaint"
    MISSED = "missed"
    DIAGNOSIS = "diagnosis"
    WATCH_EXPIRED = "watch_expired"


# Conversation copied into a new ticket: the session that led to it, at most this far
# back; a pause longer than SESSION_GAP starts a new session.
HISTORY_WINDOW = timedelta(hours=24)
SESSION_GAP = timedelta(minutes=60)
# Texts that say nothing of the problem: menu digits, photos, a bare "人工".
_NOT_A_SUBJECT = re.compile(
    r"^\s*(\[[^\]]*\]|[0-9０-９一二三四五]|人工|转人工|人工客服|客服|你好|您好)?\s*[。.!！?？]?\s*$"
)


def _render(template: str, **context) -> str:
    return render_to_string(template, context).strip()


def message_ref(message: Message) -> str:
    """The ticket's external ref of a WeChat message (joins and history use it)."""
    return f"wx:{message.pk}"


def _session(*, follower: Follower, before: Message | None) -> tuple[list[Message], int]:
    """The messages of the session that led here, and how many earlier ones are left out."""
    since = timezone.now() - HISTORY_WINDOW
    qs = follower.messages.filter(created_at__gte=since).exclude(msg_type=Message.Type.EVENT)
    if before is not None:
        qs = qs.filter(pk__lt=before.pk)
    rows = list(qs.order_by("-id")[: conf("TICKETS_CONTEXT_MESSAGES")])
    session: list[Message] = []
    last_at = before.created_at if before is not None else timezone.now()
    for m in rows:
        if last_at - m.created_at > SESSION_GAP:
            break
        session.append(m)
        last_at = m.created_at
    earlier = follower.messages.exclude(msg_type=Message.Type.EVENT)
    if session:
        earlier = earlier.filter(pk__lt=session[-1].pk)
    elif before is not None:
        earlier = earlier.filter(pk__lt=before.pk)
    return session[::-1], earlier.count()


def _history(*, follower: Follower, before: Message | None) -> list[services.HistoryItem]:
    rows, earlier = _session(follower=follower, before=before)
    items = []
    if earlier:
        # Never silently cut: the agent is told where the rest is.
        items.append(
            services.HistoryItem(
                author_kind=TicketMessage.AuthorKind.NOTE,
                text=_render("bot/replies/ticket_history_earlier.txt", count=earlier),
                at=rows[0].created_at if rows else timezone.now(),
                external_ref=f"wx-earlier:{follower.pk}:{rows[0].pk if rows else 0}",
            )
        )
    items += [
        services.HistoryItem(
            author_kind=TicketMessage.AuthorKind.USER
            if m.direction == Message.Direction.IN
            else TicketMessage.AuthorKind.BOT,
            text=m.display_text or "-",
            at=m.created_at,
            external_ref=message_ref(m),
        )
        for m in rows
    ]
    return items


def _meaningful(text: str) -> bool:
    return bool(text) and not _NOT_A_SUBJECT.match(text)


def _subject(
    *,
    reason: EscalationReason,
    category: str,
    text: str,
    history: list[services.HistoryItem],
    invoices: list[dict],
) -> str:
    """What the ticket is about: the intent's label and the invoice, or the first real words."""
    said = [
        h.text
        for h in history
        if h.author_kind == TicketMessage.AuthorKind.USER and _meaningful(h.text)
    ]
    numbers = [inv.get("number") for inv in invoices if inv.get("number")]
    return _render(
        "bot/replies/ticket_subject.txt",
        reason=reason.value,
        category=category,
        invoice_number=numbers[-1] if numbers else "",
        # Asking for a person, or a miss: the words say nothing of the problem.
        text=text if _meaningful(text) and category not in (Intent.HUMAN_AGENT, Intent.OOS) else "",
        said=said[0] if said else "",
    )


def _session_start(history: list[services.HistoryItem]):
    """When the session began (the first copied message; else a few minutes ago)."""
    for item in history:
        if item.author_kind != TicketMessage.AuthorKind.NOTE:
            return item.at
    return timezone.now() - SESSION_GAP


def _open(
    *,
    follower: Follower,
    message: Message | None,
    reason: EscalationReason,
    category: str,
    invoices: list[dict] | None,
    subject: str,
    announce: bool,
) -> services.Escalation:
    text = ""
    if message is not None and message.msg_type != Message.Type.EVENT:
        text = message.display_text
    history = _history(follower=follower, before=message)
    # Every invoice checked in the session rides along (the one just checked included).
    checked = session_snapshots(follower_id=follower.pk, since=_session_start(history))
    given = {inv.get("number") for inv in invoices or []}
    invoices = [inv for inv in checked if inv.get("number") not in given] + list(invoices or [])
    if not subject:
        subject = _subject(
            reason=reason, category=category, text=text, history=history, invoices=invoices
        )
    return services.ticket_escalate(
        requester_ref=follower.openid,
        requester_name=follower.nickname,
        category=category,
        reason=reason.value,
        subject=subject,
        text=text,
        external_ref=message_ref(message) if message is not None else None,
        history=history,
        invoices=invoices,
        announce=announce,
    )


def escalate(
    *,
    message: Message,
    reason: EscalationReason,
    category: str,
    invoices: list[dict] | None = None,
    subject: str = "",
) -> str:
    """Hand the conversation to a person during a turn; return what the follower is told.

    `invoices`: snapshots of the invoices involved (`bot.helpdesk.invoices`).
    """
    result = _open(
        follower=message.follower,
        message=message,
        reason=reason,
        category=category,
        invoices=invoices,
        subject=subject,
        announce=False,  # the reply is the announcement
    )
    ticket = result.ticket
    if result.created:
        wait = selectors.ticket_wait_estimate(ticket=ticket)
        reply = _render(
            "bot/replies/ticket_created.txt", ticket=ticket, wait=wait, reason=reason.value
        )
    else:
        reply = _render("bot/replies/ticket_existing.txt", ticket=ticket)
    services.ticket_requester_message_add(
        ticket=ticket, text=reply, author_kind=TicketMessage.AuthorKind.BOT
    )
    return reply


def escalate_follower(
    *,
    follower: Follower,
    reason: EscalationReason,
    category: str,
    invoices: list[dict] | None = None,
    subject: str = "",
) -> Ticket:
    """Escalate outside a turn (a pushed check, a watch); a notice announces the ticket."""
    return _open(
        follower=follower,
        message=None,
        reason=reason,
        category=category,
        invoices=invoices,
        subject=subject,
        announce=True,
    ).ticket


def invoice_escalate(
    *, follower: Follower, message: Message | None, fields: InvoiceFields, outcome: CheckOutcome
) -> str | None:
    """A check's diagnosis a person must act on: the ticket carries the invoice's snapshot.

    With `message` (during a turn) returns what the follower is told about the ticket;
    without, the ticket is announced by a notice and None is returned.
    """
    snapshot = outcome_snapshot(fields=fields, outcome=outcome)
    category = diagnosis_category(outcome.diagnosis)
    if message is not None:
        return escalate(
            message=message,
            reason=EscalationReason.DIAGNOSIS,
            category=category,
            invoices=[snapshot],
        )
    escalate_follower(
        follower=follower,
        reason=EscalationReason.DIAGNOSIS,
        category=category,
        invoices=[snapshot],
    )
    return None
