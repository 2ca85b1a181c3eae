"""Periodic work: close tickets nobody answers, close resolved ones after the reopen window."""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from tickets.models import Ticket
from tickets.notify import NoticeKind
from tickets.services.config import conf
from tickets.services.workflow import _transition


def tickets_due_for_close(*, now: datetime | None = None) -> list[int]:
    """Ids of pending tickets silent past the auto-close delay and resolved ones past reopening."""
    now = now or timezone.now()
    silent = now - timedelta(days=conf("TICKETS_AUTO_CLOSE_DAYS"))
    settled = now - timedelta(days=conf("TICKETS_REOPEN_DAYS"))
    pending = Ticket.objects.filter(status=Ticket.Status.PENDING, sla_paused_at__lte=silent)
    resolved = Ticket.objects.filter(status=Ticket.Status.RESOLVED, resolved_at__lte=settled)
    return list(pending.values_list("pk", flat=True)[:1000]) + list(
        resolved.values_list("pk", flat=True)[:1000]
    )


@transaction.atomic
def ticket_close_if_due(*, ticket_id: int, now: datetime | None = None) -> bool:
    """Close one ticket if it is still due (idempotent); a silent pending one gets a notice."""
    now = now or timezone.now()
    ticket = Ticket.objects.select_for_update().filter(pk=ticket_id).first()
    if ticket is None:
        return False
    if ticket.status == Ticket.Status.PENDING:
        silent_since = ticket.sla_paused_at
        if silent_since is None or now - silent_since < timedelta(
            days=conf("TICKETS_AUTO_CLOSE_DAYS")
        ):
            return False
        fields = _transition(
            ticket=ticket,
            to=Ticket.Status.CLOSED,
            actor=None,
            note="用户长时间未回复，自动关闭",
            notice=NoticeKind.AUTO_CLOSED,
        )
    elif ticket.status == Ticket.Status.RESOLVED:
        if ticket.resolved_at is None or now - ticket.resolved_at < timedelta(
            days=conf("TICKETS_REOPEN_DAYS")
        ):
            return False
        # The requester heard "resolved" already; closing only ends the reopen window.
        fields = _transition(
            ticket=ticket, to=Ticket.Status.CLOSED, actor=None, note="解决后自动关闭", notice=False
        )
    else:
        return False
    ticket.save(update_fields=fields)
    return True
