"""Ticket status transitions, agent replies, notes, priority, rating and merging."""

from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from tickets.models import Priority, Ticket, TicketEvent, TicketMessage
from tickets.notify import NoticeKind, changed_now_and_on_commit, get_backend, notice_on_commit
from tickets.placeholders import canned_unfilled
from tickets.services.config import conf
from tickets.services.errors import TicketError, TicketErrorCode
from tickets.services.invoice_index import invoice_numbers_sync
from tickets.services.sla import sla_dues_set, sla_pause, sla_resume

S = Ticket.Status
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    S.NEW: frozenset({S.OPEN, S.PENDING, S.RESOLVED, S.CLOSED}),
    S.OPEN: frozenset({S.PENDING, S.RESOLVED, S.CLOSED}),
    S.PENDING: frozenset({S.OPEN, S.RESOLVED, S.CLOSED}),
    S.RESOLVED: frozenset({S.OPEN, S.CLOSED}),
    S.CLOSED: frozenset(),
}
_NOTICES = {
    S.PENDING: NoticeKind.WAITING_ON_YOU,
    S.RESOLVED: NoticeKind.RESOLVED,
    S.CLOSED: NoticeKind.CLOSED,
}


def _locked(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_for_update().get(pk=ticket.pk)


def _transition(
    *,
    ticket: Ticket,
    to: str,
    actor: AbstractBaseUser | None,
    note: str = "",
    notice: NoticeKind | bool | None = True,
) -> list[str]:
    """Apply one validated status change to a locked ticket; return the fields to save."""
    now = timezone.now()
    frm = ticket.status
    if to == frm:
        return []
    if to not in ALLOWED_TRANSITIONS.get(frm, ()):
        raise TicketError(
            TicketErrorCode.INVALID_TRANSITION, f"不能从“{S(frm).label}”改为“{S(to).label}”"
        )
    reopening = frm == S.RESOLVED and to == S.OPEN
    if reopening:
        other = (
            Ticket.objects.filter(
                requester_ref=ticket.requester_ref,
                status__in=Ticket.ACTIVE_STATUSES,
                merged_into__isnull=True,
            )
            .exclude(pk=ticket.pk)
            .first()
        )
        if other is not None:
            raise TicketError(
                TicketErrorCode.OTHER_TICKET_ACTIVE, f"该用户已有进行中的工单 {other.number}"
            )
    fields = ["status", "updated_at"]
    ticket.status, ticket.updated_at = to, now
    if to in (S.PENDING, S.RESOLVED, S.CLOSED):
        fields += sla_pause(ticket=ticket, now=now)
    else:
        fields += sla_resume(ticket=ticket, now=now)
    if to == S.RESOLVED:
        ticket.resolved_at = now
        fields.append("resolved_at")
    elif to == S.CLOSED:
        ticket.closed_at = now
        fields.append("closed_at")
    elif reopening:
        ticket.resolved_at = None
        fields.append("resolved_at")
    event = TicketEvent.objects.create(
        ticket=ticket,
        actor=actor,
        action=TicketEvent.Action.REOPENED if reopening else TicketEvent.Action.STATUS,
        from_value=frm,
        to_value=to,
        note=note,
        at=now,
    )
    changed_now_and_on_commit(ticket=ticket)
    kind = NoticeKind.REOPENED if reopening else _NOTICES.get(to)
    if notice is not True:
        kind = notice or None
    if kind is not None:
        # This change's own event: a second change before commit gets its own notice.
        notice_on_commit(ticket=ticket, kind=kind, event_id=event.pk)
    return fields


@transaction.atomic
def ticket_status_change(
    *,
    ticket: Ticket,
    status: str,
    actor: AbstractBaseUser | None = None,
    note: str = "",
    notify: bool = True,
) -> Ticket:
    """Move a ticket to `status` if the workflow allows it; audited, the requester told."""
    ticket = _locked(ticket)
    fields = _transition(ticket=ticket, to=status, actor=actor, note=note, notice=notify or None)
    if fields:
        ticket.save(update_fields=fields)
    return ticket


@transaction.atomic
def ticket_reopen_by_requester(*, ticket: Ticket) -> Ticket | None:
    """Reopen a resolved ticket the requester wrote to within the reopen window; else None."""
    ticket = _locked(ticket)
    window = timedelta(days=conf("TICKETS_REOPEN_DAYS"))
    if ticket.status != S.RESOLVED or ticket.resolved_at is None:
        return None
    if timezone.now() - ticket.resolved_at > window:
        return None
    try:
        fields = _transition(ticket=ticket, to=S.OPEN, actor=None, note="用户再次来信")
    except TicketError:
        return None
    ticket.save(update_fields=fields)
    return ticket


def _text(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise TicketError(TicketErrorCode.EMPTY_TEXT, "内容不能为空")
    return text


@transaction.atomic
def ticket_reply_send(
    *,
    ticket: Ticket,
    author: AbstractBaseUser,
    text: str,
    status: str | None = None,
) -> TicketMessage:
    """Send an agent's reply to the requester through the channel; optionally change status.

    The first agent reply is the first human response (bot turns never are). A reply
    to an unassigned ticket assigns it to the author, as help desks do.
    """
    text = _text(text)
    unfilled = canned_unfilled(text=text)
    if unfilled:
        names = "、".join(f"{{{name}}}" for name in unfilled)
        raise TicketError(
            TicketErrorCode.PLACEHOLDER_UNFILLED,
            f"占位符 {names} 没有可填的值，请编辑后再发送",
            field="text",
        )
    ticket = _locked(ticket)
    if ticket.status == S.CLOSED:
        raise TicketError(TicketErrorCode.TICKET_CLOSED, "工单已关闭，不能回复")
    now = timezone.now()
    message = TicketMessage.objects.create(
        ticket=ticket,
        author_kind=TicketMessage.AuthorKind.AGENT,
        author=author,
        text=text,
        created_at=now,
    )
    fields = ["last_agent_message_at", "updated_at"]
    ticket.last_agent_message_at = ticket.updated_at = now
    if ticket.first_response_at is None:
        ticket.first_response_at = now
        fields.append("first_response_at")
        TicketEvent.objects.create(
            ticket=ticket, actor=author, action=TicketEvent.Action.FIRST_RESPONSE, at=now
        )
    if ticket.assignee_id is None:
        ticket.assignee = author
        fields.append("assignee")
        TicketEvent.objects.create(
            ticket=ticket,
            actor=author,
            action=TicketEvent.Action.ASSIGNED,
            to_value=author.get_username(),
            at=now,
        )
    target = status or (S.OPEN if ticket.status == S.NEW else None)
    carries = None
    if target:
        # The reply itself asks the requester: no separate "waiting on you" notice. A
        # reply that resolves carries the satisfaction question, after the answer (two
        # notices could arrive in either order).
        notice = target not in (S.PENDING, S.RESOLVED)
        fields += _transition(ticket=ticket, to=target, actor=author, notice=notice)
        if target == S.RESOLVED:
            carries = NoticeKind.RESOLVED
    ticket.save(update_fields=list(dict.fromkeys(fields)))
    backend = get_backend()
    message.delivery_ref = backend.reply_send(ticket=ticket, message=message, carries=carries)[:64]
    message.save(update_fields=["delivery_ref"])
    return message


@transaction.atomic
def ticket_note_add(*, ticket: Ticket, author: AbstractBaseUser, text: str) -> TicketMessage:
    """Add an internal note that the requester never sees."""
    text = _text(text)
    now = timezone.now()
    Ticket.objects.filter(pk=ticket.pk).update(updated_at=now)
    return TicketMessage.objects.create(
        ticket=ticket,
        author_kind=TicketMessage.AuthorKind.NOTE,
        author=author,
        text=text,
        created_at=now,
    )


@transaction.atomic
def ticket_priority_set(
    *, ticket: Ticket, priority: str, actor: AbstractBaseUser | None = None
) -> Ticket:
    """Change the priority; the SLA due times follow the new targets."""
    if priority not in Priority.values:
        raise TicketError(TicketErrorCode.INVALID_PRIORITY, "优先级无效")
    ticket = _locked(ticket)
    if ticket.priority == priority:
        return ticket
    old = ticket.priority
    ticket.priority, ticket.updated_at = priority, timezone.now()
    fields = ["priority", "updated_at", *sla_dues_set(ticket=ticket)]
    ticket.save(update_fields=fields)
    TicketEvent.objects.create(
        ticket=ticket,
        actor=actor,
        action=TicketEvent.Action.PRIORITY,
        from_value=old,
        to_value=priority,
        at=ticket.updated_at,
    )
    return ticket


@transaction.atomic
def ticket_tags_set(
    *, ticket: Ticket, tags: list[str], actor: AbstractBaseUser | None = None
) -> Ticket:
    """Replace the ticket's tags (trimmed, unique, in order); audited."""
    clean = list(dict.fromkeys(t.strip()[:30] for t in tags if t and t.strip()))[:20]
    ticket = _locked(ticket)
    if clean == ticket.tags:
        return ticket
    old, ticket.tags, ticket.updated_at = ticket.tags, clean, timezone.now()
    ticket.save(update_fields=["tags", "updated_at"])
    TicketEvent.objects.create(
        ticket=ticket,
        actor=actor,
        action=TicketEvent.Action.TAGS,
        from_value=old,
        to_value=clean,
        at=ticket.updated_at,
    )
    return ticket


@transaction.atomic
def ticket_rate(*, ticket: Ticket, score: int) -> Ticket:
    """Record the requester's 1-5 satisfaction score for a resolved (or closed) ticket."""
    if not isinstance(score, int) or not 1 <= score <= 5:
        raise TicketError(TicketErrorCode.INVALID_RATING, "评分应为 1-5")
    ticket = _locked(ticket)
    if ticket.status not in (S.RESOLVED, S.CLOSED) or ticket.merged_into_id is not None:
        raise TicketError(TicketErrorCode.NOT_RATEABLE, "工单尚未解决")
    now = timezone.now()
    old = ticket.satisfaction
    ticket.satisfaction, ticket.satisfaction_at = score, now
    ticket.save(update_fields=["satisfaction", "satisfaction_at"])
    TicketEvent.objects.create(
        ticket=ticket, action=TicketEvent.Action.RATED, from_value=old, to_value=score, at=now
    )
    return ticket


@transaction.atomic
def ticket_merge(*, source: Ticket, target: Ticket, actor: AbstractBaseUser | None) -> Ticket:
    """Fold a duplicate into `target`: its conversation and invoices move, it closes."""
    if source.pk == target.pk:
        raise TicketError(TicketErrorCode.INVALID_MERGE, "不能合并到自身")
    # Lock both in id order so two merges of the same pair cannot deadlock.
    locked = {
        t.pk: t
        for t in Ticket.objects.select_for_update()
        .filter(pk__in=[source.pk, target.pk])
        .order_by("pk")
    }
    source, target = locked[source.pk], locked[target.pk]
    if source.status == S.CLOSED or target.status == S.CLOSED:
        raise TicketError(TicketErrorCode.INVALID_MERGE, "已关闭的工单不能合并")
    now = timezone.now()
    # History copied into both tickets (same conversation) stays once.
    source.messages.filter(
        external_ref__in=target.messages.filter(external_ref__isnull=False).values("external_ref")
    ).delete()
    source.messages.update(ticket=target)
    seen = {inv.get("number") for inv in target.invoices}
    target.invoices = target.invoices + [
        inv for inv in source.invoices if inv.get("number") not in seen
    ]
    target.invoice_numbers = " ".join(
        dict.fromkeys(n for n in (target.invoice_numbers + " " + source.invoice_numbers).split())
    )[:500]
    target.updated_at = now
    target.save(update_fields=["invoices", "invoice_numbers", "updated_at"])
    invoice_numbers_sync(ticket=target)
    fields = _transition(
        ticket=source, to=S.CLOSED, actor=actor, note=f"合并到 {target.number}", notice=False
    )
    source.merged_into = target
    source.save(update_fields=[*fields, "merged_into"])
    TicketEvent.objects.create(
        ticket=source,
        actor=actor,
        action=TicketEvent.Action.MERGED,
        to_value=target.number,
        at=now,
    )
    TicketEvent.objects.create(
        ticket=target,
        actor=actor,
        action=TicketEvent.Action.MERGED_FROM,
        from_value=source.number,
        at=now,
    )
    return target
