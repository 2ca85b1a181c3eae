"""`manage.py seed_demo`: bulk demo tickets with their conversations."""

import pytest
from django.core.management import call_command

from tickets.models import Ticket, TicketMessage

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_tickets_with_conversations_and_can_run_again():
    call_command("seed_demo", tickets=30, messages=10, batch=7, verbosity=0)
    call_command("seed_demo", tickets=5, messages=10, verbosity=0)
    assert Ticket.objects.count() == 35
    assert TicketMessage.objects.count() == 350
    ticket = Ticket.objects.order_by("id").first()
    kinds = list(ticket.messages.values_list("author_kind", flat=True))
    assert kinds[0] == "user" and "agent" in kinds
    # The one-active-ticket-per-requester rule holds for the demo data too.
    active = Ticket.objects.filter(status__in=Ticket.ACTIVE_STATUSES)
    assert active.values("requester_ref").distinct().count() == active.count()
