"""The demo command: first-run set-up of the embedded product, idempotent."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from bot.conversations.models import Follower, Message
from bot.invoices.models import LedgerInvoice
from tickets.models import AgentProfile, Ticket

pytestmark = pytest.mark.django_db


def test_demo_sets_up_agent_invoices_and_conversations_once(
    capsys, settings, django_capture_on_commit_callbacks
):
    settings.DEBUG = True  # the command refuses to run outside development mode
    with django_capture_on_commit_callbacks(execute=True):
        call_command("demo", "--no-server")
    out = capsys.readouterr().out
    assert "/simulator/" in out and "/admin/" in out
    agent = get_user_model().objects.get(username="agent")
    profile = AgentProfile.objects.get(user=agent)
    assert profile.on_duty and profile.queues.exists()
    assert LedgerInvoice.objects.filter(seller_name="演示商贸有限公司").count() == 3
    # The demo escalation became a ticket assigned to the on-duty demo agent.
    ticket = Ticket.objects.get(requester_ref="sim-demo-wang")
    assert ticket.assignee == agent
    # Every printed invoice line gets a verification answer in the simulator.
    assert "数电票 号码26117000000012345678" in out

    counts = (Follower.objects.count(), Message.objects.count(), LedgerInvoice.objects.count())
    call_command("demo", "--no-server")
    assert (Follower.objects.count(), Message.objects.count(), LedgerInvoice.objects.count()) == (
        counts
    )
