"""Opening tickets: numbering, queue choice, one open ticket per requester, joining messages."""

from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from tickets.models import (
    AgentProfile,
    Priority,
    Queue,
    Ticket,
    TicketCounter,
    TicketEvent,
)
from tickets.models import TicketMessage as Msg
from tickets.notify import (
    NoticeKind,
    alert_on_commit,
    changed_now_and_on_commit,
    notice_on_commit,
    source_ref,
)
from tickets.services.config import conf
from tickets.services.errors import TicketError, TicketErrorCode
from tickets.services.invoice_index import invoice_numbers_join, invoice_numbers_sync
from tickets.services.sla import sla_dues_set
from tickets.services.workflow import _transition


@dataclass(frozen=True)
class HistoryItem:
    """A message of the conversation that led to the escalation."""

    author_kind: str  # TicketMessage.AuthorKind: "user" or "bot"
    text: str
    at: datetime
    external_ref: str | None = None


@dataclass
class Escalation:
    ticket: Ticket
    created: bool
    history: list = field(default_factory=list)


def ticket_number_next(*, day=None) -> str:
    """Hand out the next number of the local day, e.g. T20251127-0042 (locks the counter)."""
    day = day or timezone.localdate()
    counter = TicketCounter.objects.select_for_update().filter(day=day).first()
    if counter is None:
        try:
            with transaction.atomic():
                TicketCounter.objects.create(day=day, last=0)
        except IntegrityError:
            pass  # another transaction created today's counter first
        counter = TicketCounter.objects.select_for_update().get(day=day)
    counter.last += 1
    counter.save(update_fields=["last"])
    return f"T{day:%Y%m%d}-{counter.last:04d}"


def queue_for_category(*, category: str) -> Queue:
    """The queue taking this intent, else the default queue."""
    queues = list(Queue.objects.all())
    for queue in queues:
        if category in (queue.categories or []):
            return queue
    for queue in queues:
        if queue.is_default:
            return queue
    if queues:
        return queues[0]
    raise TicketError(TicketErrorCode.NO_QUEUE, "尚未配置任何队列")


def _add_invoices(ticket: Ticket, invoices: list[dict]) -> list[str]:
    """Merge invoice snapshots by number (a newer snapshot of the same invoice wins)."""
    if not invoices:
        return []
    by_number = {inv.get("number"): inv for inv in ticket.invoices}
    for inv in invoices:
        by_number[inv.get("number")] = inv
    ticket.invoices = list(by_number.values())
    ticket.invoice_numbers = invoice_numbers_join(ticket.invoices)
    return ["invoices", "invoice_numbers"]


@transaction.atomic
def ticket_invoices_add(*, ticket: Ticket, invoices: list[dict]) -> Ticket:
    """Add invoice snapshots to a ticket (a newer one of the same number wins); searchable."""
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    fields = _add_invoices(ticket, invoices)
    if fields:
        ticket.updated_at = timezone.now()
        ticket.save(update_fields=[*fields, "updated_at"])
        invoice_numbers_sync(ticket=ticket)
    return ticket


def _message_once(
    *, ticket: Ticket, kind: str, text: str, at: datetime, ref: str | None
) -> Msg | None:
    """Add a conversation entry; None when this channel message is already on the ticket."""
    if ref and ticket.messages.filter(external_ref=ref).exists():
        return None
    try:
        with transaction.atomic():
            return Msg.objects.create(
                ticket=ticket, author_kind=kind, text=text, created_at=at, external_ref=ref
            )
    except IntegrityError:
        return None  # the same delivery, added concurrently


def _assignee_refs(ticket: Ticket) -> list[str]:
    if ticket.assignee_id is None:
        return []
    return list(
        AgentProfile.objects.filter(user_id=ticket.assignee_id).values_list("notify_ref", flat=True)
    )


@transaction.atomic
def ticket_requester_message_add(
    *,
    ticket: Ticket,
    text: str,
    external_ref: str | None = None,
    author_kind: str = Msg.AuthorKind.USER,
) -> bool:
    """Append what the requester wrote (or the bot answered) to an active ticket.

    A requester message on a ticket waiting on them reopens work (pending → open,
    the SLA clock resumes) and alerts the assignee. Returns False for a repeat.
    """
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    now = timezone.now()
    message = _message_once(ticket=ticket, kind=author_kind, text=text, at=now, ref=external_ref)
    if message is None:
        return False
    if author_kind != Msg.AuthorKind.USER:
        return True
    fields = ["last_requester_message_at", "updated_at"]
    ticket.last_requester_message_at = ticket.updated_at = now
    if ticket.status == Ticket.Status.PENDING:
        fields += _transition(ticket=ticket, to=Ticket.Status.OPEN, actor=None, note="用户回复")
    ticket.save(update_fields=list(dict.fromkeys(fields)))
    alert_on_commit(
        ticket=ticket,
        kind=NoticeKind.REQUESTER_REPLIED,
        recipients=_assignee_refs(ticket),
        ref=source_ref(message),
        text=text[:200],
    )
    return True


def ticket_bot_message_add(*, ticket: Ticket, text: str, external_ref: str | None = None) -> bool:
    """Record on any ticket (resolved ones too) what the channel told the requester."""
    return (
        _message_once(
            ticket=ticket, kind=Msg.AuthorKind.BOT, text=text, at=timezone.now(), ref=external_ref
        )
        is not None
    )


def ticket_active_for(*, requester_ref: str, lock: bool = False) -> Ticket | None:
    qs = Ticket.objects.filter(
        requester_ref=requester_ref, status__in=Ticket.ACTIVE_STATUSES, merged_into__isnull=True
    )
    if lock:
        qs = qs.select_for_update()
    return qs.first()


def _create(
    *,
    requester_ref: str,
    requester_name: str,
    category: str,
    reason: str,
    subject: str,
    invoices: list[dict],
    priority: str | None,
) -> tuple[Ticket, TicketEvent]:
    """Create the ticket and its audited CREATED event."""
    now = timezone.now()
    queue = queue_for_category(category=category)
    if priority not in Priority.values:
        priority = conf("TICKETS_CATEGORY_PRIORITY").get(category, Priority.NORMAL)
    ticket = Ticket(
        number=ticket_number_next(),
        requester_ref=requester_ref,
        requester_name=requester_name[:100],
        queue=queue,
        priority=priority,
        subject=(subject or category)[:200],
        category=category[:40],
        escalation_reason=reason[:20],
        created_at=now,
        updated_at=now,
        last_requester_message_at=now,
        invoices=list(invoices),
        invoice_numbers=invoice_numbers_join(invoices),
    )
    sla_dues_set(ticket=ticket)
    ticket.save()
    invoice_numbers_sync(ticket=ticket)
    changed_now_and_on_commit(ticket=ticket)
    event = TicketEvent.objects.create(
        ticket=ticket, action=TicketEvent.Action.CREATED, to_value=queue.slug, note=reason, at=now
    )
    return ticket, event


@transaction.atomic
def ticket_escalate(
    *,
    requester_ref: str,
    category: str,
    reason: str,
    subject: str = "",
    requester_name: str = "",
    text: str = "",
    external_ref: str | None = None,
    history: list[HistoryItem] | None = None,
    invoices: list[dict] | None = None,
    priority: str | None = None,
    announce: bool = True,
) -> Escalation:
    """Hand a requester to a person: open their ticket, or join their open one.

    One active ticket per requester is a database constraint, so concurrent
    escalations (two workers, WeChat retries) end on the same ticket; the same
    channel message (`external_ref`) is added once. A new ticket is announced to
    the requester (unless `announce` is off: the channel already said it in its
    reply) and queued for assignment after commit.
    """
    invoices = invoices or []
    ticket = ticket_active_for(requester_ref=requester_ref, lock=True)
    created = False
    if ticket is None:
        try:
            with transaction.atomic():
                ticket, created_event = _create(
                    requester_ref=requester_ref,
                    requester_name=requester_name,
                    category=category,
                    reason=reason,
                    subject=subject,
                    invoices=invoices,
                    priority=priority,
                )
            created = True
        except IntegrityError:
            ticket = ticket_active_for(requester_ref=requester_ref, lock=True)
            if ticket is None:
                raise
    if created:
        for item in history or []:
            _message_once(
                ticket=ticket,
                kind=item.author_kind,
                text=item.text,
                at=item.at,
                ref=item.external_ref,
            )
        if text:
            _message_once(
                ticket=ticket,
                kind=Msg.AuthorKind.USER,
                text=text,
                at=ticket.created_at,
                ref=external_ref,
            )
        if announce:
            notice_on_commit(ticket=ticket, kind=NoticeKind.CREATED, event_id=created_event.pk)
        _queue_assignment(ticket.pk)
        return Escalation(ticket=ticket, created=True)
    if text:
        ticket_requester_message_add(ticket=ticket, text=text, external_ref=external_ref)
    fields = _add_invoices(ticket, invoices)
    if fields:
        ticket.save(update_fields=fields)
        invoice_numbers_sync(ticket=ticket)
    ticket.refresh_from_db()
    return Escalation(ticket=ticket, created=False)


def _queue_assignment(ticket_id: int) -> None:
    from tickets.tasks import ticket_assign_task

    transaction.on_commit(lambda: ticket_assign_task.delay(ticket_id))
