"""The demo command: first-run set-up of the embedded product, idempotent."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from bot.conversations.models import Follower, Message
from bot.invoices.models import LedgerInvoice
from support.roles import Role, user_has_role, user_is_supervisor
from tickets.models import AgentProfile, Ticket

pytestmark = pytest.mark.django_db


def test_demo_sets_up_agent_invoices_and_conversations_once(
    capsys, settings, django_capture_on_commit_callbacks, tmp_path
):
    settings.MEDIA_ROOT = str(tmp_path)
    settings.DEBUG = True  # the command refuses to run outside development mode
    with django_capture_on_commit_callbacks(execute=True):
        call_command("demo", "--no-server")
    out = capsys.readouterr().out
    assert "/simulator/" in out and "/admin/" in out
    agent = get_user_model().objects.get(username="agent")
    profile = AgentProfile.objects.get(user=agent)
    assert profile.on_duty and profile.queues.exists()
    # An agent, not a superuser; and a supervisor to try the reports with.
    assert not agent.is_superuser and user_has_role(agent, Role.AGENT)
    assert not user_is_supervisor(agent)
    lead = get_user_model().objects.get(username="supervisor")
    assert not lead.is_superuser and user_is_supervisor(lead)
    assert LedgerInvoice.objects.filter(seller_name="演示商贸有限公司").count() == 3
    # The demo escalation became a ticket assigned to the on-duty demo agent.
    ticket = Ticket.objects.get(requester_ref="sim-demo-wang")
    assert ticket.assignee == agent
    # A morning: tickets in each state, one carrying the invoice checked before 转人工.
    statuses = set(Ticket.objects.values_list("status", flat=True))
    assert {"resolved", "pending", "open"} <= statuses or {"resolved", "pending", "new"} <= statuses
    zhang = Ticket.objects.get(requester_ref="sim-demo-zhang")
    assert zhang.invoice_numbers == "26117000000012345678"
    assert "26117000000012345678" in zhang.subject
    # The photo the agent asked for joined the pending ticket: kept, read, on the card.
    photo = Message.objects.get(follower__openid="sim-demo-wang", msg_type="image")
    assert photo.attachments.count() == 1
    ticket.refresh_from_db()
    assert "04718263" in ticket.invoice_numbers
    # Every printed invoice line gets a verification answer in the simulator.
    assert "数电票 号码26117000000012345678" in out

    counts = (Follower.objects.count(), Message.objects.count(), LedgerInvoice.objects.count())
    call_command("demo", "--no-server")
    assert (Follower.objects.count(), Message.objects.count(), LedgerInvoice.objects.count()) == (
        counts
    )
