"""The invoice numbers of a ticket, kept searchable."""

from tickets.models import Ticket, TicketInvoiceNumber


def invoice_numbers_join(invoices: list[dict]) -> str:
    numbers = (str(inv.get("number") or "").strip() for inv in invoices)
    return " ".join(dict.fromkeys(n for n in numbers if n))[:500]


def invoice_numbers_sync(*, ticket: Ticket) -> None:
    """Mirror the ticket's invoice numbers into the indexed search table."""
    numbers = [n for n in ticket.invoice_numbers.split() if len(n) <= 30]
    TicketInvoiceNumber.objects.filter(ticket=ticket).exclude(number__in=numbers).delete()
    have = set(TicketInvoiceNumber.objects.filter(ticket=ticket).values_list("number", flat=True))
    TicketInvoiceNumber.objects.bulk_create(
        [TicketInvoiceNumber(ticket=ticket, number=n) for n in numbers if n not in have]
    )
