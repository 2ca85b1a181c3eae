"""SLA clocks: due times in business minutes, pauses while waiting on the requester, breaches."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from tickets import business_hours
from tickets.models import AgentProfile, Priority, SlaTarget, Ticket, TicketEvent
from tickets.notify import NoticeKind, alert_on_commit, source_ref


def sla_target_for(*, queue_id: int, priority: str) -> SlaTarget | None:
    return SlaTarget.objects.filter(queue_id=queue_id, priority=priority).first()


def sla_dues_set(*, ticket: Ticket) -> list[str]:
    """Recompute the due times from creation, targets and paused time; return changed fields.

    Only the resolution clock pauses: the first human response is owed from the
    moment of escalation, whatever the status.
    """
    target = sla_target_for(queue_id=ticket.queue_id, priority=ticket.priority)
    if target is None:
        ticket.first_response_due = ticket.resolution_due = None
    else:
        ticket.first_response_due = business_hours.add_business_minutes(
            ticket.created_at, target.first_response_minutes
        )
        ticket.resolution_due = business_hours.add_business_minutes(
            ticket.created_at, target.resolution_minutes + ticket.sla_paused_minutes
        )
    return ["first_response_due", "resolution_due"]


def sla_pause(*, ticket: Ticket, now: datetime) -> list[str]:
    if ticket.sla_paused_at is not None:
        return []
    ticket.sla_paused_at = now
    return ["sla_paused_at"]


def sla_resume(*, ticket: Ticket, now: datetime) -> list[str]:
    if ticket.sla_paused_at is None:
        return []
    ticket.sla_paused_minutes += business_hours.business_minutes_between(ticket.sla_paused_at, now)
    ticket.sla_paused_at = None
    return ["sla_paused_at", "sla_paused_minutes", *sla_dues_set(ticket=ticket)]


def _raised(priority: str) -> str:
    ladder = Priority.ladder()
    return ladder[min(ladder.index(priority) + 1, len(ladder) - 1)]


def _supervisor_refs(queue_id: int) -> list[str]:
    return list(
        AgentProfile.objects.filter(is_supervisor=True, user__is_active=True)
        .exclude(notify_ref="")
        .values_list("notify_ref", flat=True)
    )


@transaction.atomic
def ticket_sla_breach_record(*, ticket_id: int, now: datetime | None = None) -> list[str]:
    """Record the breaches of one ticket, raise its priority once per breach, alert supervisors.

    Returns the clocks newly breached ("first_response", "resolution"); idempotent.
    """
    now = now or timezone.now()
    ticket = Ticket.objects.select_for_update().filter(pk=ticket_id).first()
    if ticket is None or ticket.status not in Ticket.ACTIVE_STATUSES:
        return []
    breached = []
    if (
        ticket.first_response_at is None
        and ticket.first_response_breached_at is None
        and ticket.first_response_due is not None
        and ticket.first_response_due <= now
    ):
        ticket.first_response_breached_at = now
        breached.append("first_response")
    if (
        ticket.sla_paused_at is None
        and ticket.resolution_breached_at is None
        and ticket.resolution_due is not None
        and ticket.resolution_due <= now
    ):
        ticket.resolution_breached_at = now
        breached.append("resolution")
    if not breached:
        return []
    old_priority = ticket.priority
    ticket.priority = _raised(old_priority)
    fields = ["first_response_breached_at", "resolution_breached_at", "priority", "updated_at"]
    ticket.updated_at = now
    # Dues follow the new priority's targets; the breach stays recorded either way.
    fields += sla_dues_set(ticket=ticket)
    ticket.save(update_fields=fields)
    events = [
        TicketEvent.objects.create(
            ticket=ticket, action=TicketEvent.Action.SLA_BREACHED, to_value=clock, at=now
        )
        for clock in breached
    ]
    if ticket.priority != old_priority:
        TicketEvent.objects.create(
            ticket=ticket,
            action=TicketEvent.Action.PRIORITY,
            from_value=old_priority,
            to_value=ticket.priority,
            note="SLA breach",
            at=now,
        )
    alert_on_commit(
        ticket=ticket,
        kind=NoticeKind.SLA_BREACHED,
        recipients=_supervisor_refs(ticket.queue_id),
        ref=source_ref(events[0]),
        text=",".join(breached),
    )
    return breached


def sla_breaches_find(*, now: datetime | None = None) -> list[int]:
    """Ids of active tickets with a clock past due and not yet recorded as breached."""
    from django.db.models import Q

    now = now or timezone.now()
    first = Q(
        first_response_at__isnull=True,
        first_response_breached_at__isnull=True,
        first_response_due__lte=now,
    )
    resolution = Q(
        sla_paused_at__isnull=True,
        resolution_breached_at__isnull=True,
        resolution_due__lte=now,
    )
    return list(
        Ticket.objects.filter(status__in=Ticket.ACTIVE_STATUSES)
        .filter(first | resolution)
        .values_list("pk", flat=True)[:1000]
    )
