"""The invoice card: re-verification through the hook the channel provides."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from tickets.models import Ticket, TicketMessage
from tickets.services.config import conf
from tickets.services.errors import TicketError, TicketErrorCode
from tickets.services.invoice_index import invoice_numbers_join, invoice_numbers_sync


def reverify_available() -> bool:
    return bool(conf("TICKETS_INVOICE_REVERIFY"))


@transaction.atomic
def ticket_invoices_reverify(*, ticket: Ticket, actor: AbstractBaseUser | None) -> Ticket:
    """Re-check the ticket's invoices via `TICKETS_INVOICE_REVERIFY` and store the new snapshot.

    The hook takes the ticket and returns the updated invoice snapshots (same shape
    as given to `ticket_escalate`).
    """
    path = conf("TICKETS_INVOICE_REVERIFY")
    if not path:
        raise TicketError(TicketErrorCode.REVERIFY_UNAVAILABLE, "未配置发票重新查验")
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    invoices = list(import_string(path)(ticket))
    now = timezone.now()
    ticket.invoices = invoices
    ticket.invoice_numbers = invoice_numbers_join(invoices)
    ticket.updated_at = now
    ticket.save(update_fields=["invoices", "invoice_numbers", "updated_at"])
    invoice_numbers_sync(ticket=ticket)
    TicketMessage.objects.create(
        ticket=ticket,
        author_kind=TicketMessage.AuthorKind.NOTE,
        author=actor,
        text="重新查验发票："
        + "；".join(
            f"{inv.get('number', '?')} {inv.get('result', '')}".strip() for inv in invoices
        ),
        created_at=now,
    )
    return ticket
