"""Who works a ticket: round-robin among on-duty agents with capacity, and by hand."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from tickets.models import AgentProfile, Ticket, TicketEvent
from tickets.notify import NoticeKind, alert_on_commit, source_ref
from tickets.services.errors import TicketError, TicketErrorCode
from tickets.services.workflow import _transition


def _set_assignee(
    *, ticket: Ticket, user: AbstractBaseUser | None, actor: AbstractBaseUser | None, note: str
) -> None:
    now = timezone.now()
    old = ticket.assignee.get_username() if ticket.assignee_id else None
    ticket.assignee = user
    ticket.updated_at = now
    fields = ["assignee", "updated_at"]
    if user is not None and ticket.status == Ticket.Status.NEW:
        fields += _transition(ticket=ticket, to=Ticket.Status.OPEN, actor=actor)
    ticket.save(update_fields=list(dict.fromkeys(fields)))
    event = TicketEvent.objects.create(
        ticket=ticket,
        actor=actor,
        action=TicketEvent.Action.ASSIGNED,
        from_value=old,
        to_value=user.get_username() if user else None,
        note=note,
        at=now,
    )
    if user is not None:
        profile = AgentProfile.objects.filter(user=user).first()
        alert_on_commit(
            ticket=ticket,
            kind=NoticeKind.ASSIGNED,
            recipients=[profile.notify_ref] if profile else [],
            ref=source_ref(event),
        )


@transaction.atomic
def ticket_assign_auto(*, ticket_id: int) -> AbstractBaseUser | None:
    """Give an unassigned active ticket to the next on-duty agent of its queue with capacity.

    Round robin: the agent assigned longest ago goes first. The ticket row and the
    queue's agent rows are locked (agents in id order, so workers never deadlock), so
    two workers never assign one ticket twice nor push an agent past capacity.
    Idempotent: an assigned or finished ticket is left alone.
    """
    ticket = Ticket.objects.select_for_update().filter(pk=ticket_id).first()
    if ticket is None or ticket.assignee_id is not None:
        return None
    if ticket.status not in Ticket.ACTIVE_STATUSES:
        return None
    agents = list(
        AgentProfile.objects.select_for_update(of=("self",))
        .filter(queues=ticket.queue_id, on_duty=True, user__is_active=True)
        .select_related("user")
        .order_by("pk")
    )
    if not agents:
        return None
    load = dict(
        Ticket.objects.filter(
            assignee_id__in=[a.user_id for a in agents], status__in=Ticket.ACTIVE_STATUSES
        )
        .values_list("assignee_id")
        .annotate(n=Count("pk"))
        .values_list("assignee_id", "n")
    )
    free = [a for a in agents if load.get(a.user_id, 0) < a.capacity]
    if not free:
        return None
    # Never-assigned agents first, then longest ago; ties by id.
    chosen = min(
        free, key=lambda a: (a.last_assigned_at is not None, a.last_assigned_at or 0, a.pk)
    )
    chosen.last_assigned_at = timezone.now()
    chosen.save(update_fields=["last_assigned_at"])
    _set_assignee(ticket=ticket, user=chosen.user, actor=None, note="自动分配")
    return chosen.user


@transaction.atomic
def ticket_assign(
    *, ticket: Ticket, assignee: AbstractBaseUser | None, actor: AbstractBaseUser | None
) -> Ticket:
    """Assign (or unassign, with None) by hand; the assignee must be an agent of the queue."""
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if ticket.status == Ticket.Status.CLOSED:
        raise TicketError(TicketErrorCode.TICKET_CLOSED, "工单已关闭")
    if assignee is not None:
        profile = AgentProfile.objects.filter(user=assignee).first()
        if profile is None or not assignee.is_active:
            raise TicketError(TicketErrorCode.NOT_AN_AGENT, "该用户不是客服")
        if not profile.is_supervisor and not profile.queues.filter(pk=ticket.queue_id).exists():
            raise TicketError(TicketErrorCode.NOT_IN_QUEUE, "该客服不属于此队列")
    if ticket.assignee_id == (assignee.pk if assignee else None):
        return ticket
    _set_assignee(ticket=ticket, user=assignee, actor=actor, note="手动分配")
    return ticket
