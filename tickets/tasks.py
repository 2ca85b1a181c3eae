"""Celery tasks of the help desk: thin, id-based, idempotent."""

from celery import shared_task

from tickets import services
from tickets.models import Ticket


@shared_task(acks_late=True)
def ticket_assign_task(ticket_id: int) -> None:
    services.ticket_assign_auto(ticket_id=ticket_id)


@shared_task(acks_late=True)
def tickets_assign_waiting() -> int:
    """Beat: offer unassigned active tickets again (agents come on duty, capacity frees up)."""
    ids = list(
        Ticket.objects.filter(assignee__isnull=True, status__in=Ticket.ACTIVE_STATUSES)
        .order_by("created_at")
        .values_list("pk", flat=True)[:500]
    )
    return sum(1 for pk in ids if services.ticket_assign_auto(ticket_id=pk) is not None)


@shared_task(acks_late=True)
def tickets_sla_check() -> int:
    """Beat: record SLA breaches, raise priority, alert supervisors."""
    return sum(
        1 for pk in services.sla_breaches_find() if services.ticket_sla_breach_record(ticket_id=pk)
    )


@shared_task(acks_late=True)
def tickets_auto_close() -> int:
    """Beat: close tickets silent past the auto-close delay and resolved past the reopen window."""
    return sum(
        1 for pk in services.tickets_due_for_close() if services.ticket_close_if_due(ticket_id=pk)
    )
