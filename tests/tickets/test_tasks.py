"""Beat tasks: SLA breaches, auto-close, offering waiting tickets to agents again."""

import pytest

from tests.tickets.helpers import at
from tickets import services, tasks
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def test_sla_check_records_breach_raises_priority_and_alerts_supervisors(
    clock, make_ticket, make_agent, queue, locmem_backend, django_capture_on_commit_callbacks
):
    make_agent(username="boss", supervisor=True, notify_ref="o-boss")
    make_agent(username="quiet-boss", supervisor=True)  # no channel id: nobody to push to
    ticket = make_ticket()  # Thursday 10:00, normal: first response due 11:00
    clock.now = at(2025, 11, 27, 10, 59)
    assert tasks.tickets_sla_check() == 0
    clock.now = at(2025, 11, 27, 11, 1)
    locmem_backend.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.tickets_sla_check() == 1
    ticket.refresh_from_db()
    assert ticket.first_response_breached_at == clock.now
    assert ticket.resolution_breached_at is None
    assert ticket.priority == "high"
    assert ticket.events.filter(action="sla_breached", to_value="first_response").exists()
    assert locmem_backend == [(ticket.number, "sla_breached", "o-boss")]
    # Idempotent: the next run finds nothing new.
    assert tasks.tickets_sla_check() == 0
    assert Ticket.objects.get(pk=ticket.pk).priority == "high"


def test_bot_messages_do_not_stop_the_first_response_clock(clock, make_ticket):
    ticket = make_ticket()
    services.ticket_requester_message_add(ticket=ticket, text="机器人自动回复", author_kind="bot")
    clock.now = at(2025, 11, 27, 11, 30)
    assert tasks.tickets_sla_check() == 1


def test_pending_tickets_do_not_breach_resolution(clock, make_ticket, make_agent, queue):
    agent = make_agent(queue)
    ticket = make_ticket()
    services.ticket_reply_send(ticket=ticket, author=agent, text="请补充", status="pending")
    clock.now = at(2025, 12, 10, 10, 0)  # long past the resolution due time
    assert tasks.tickets_sla_check() == 0
    assert Ticket.objects.get(pk=ticket.pk).resolution_breached_at is None


def test_silent_pending_ticket_closes_itself_with_a_notice(
    clock,
    settings,
    make_ticket,
    make_agent,
    queue,
    locmem_backend,
    django_capture_on_commit_callbacks,
):
    settings.TICKETS_AUTO_CLOSE_DAYS = 3
    agent = make_agent(queue)
    ticket = make_ticket()
    services.ticket_reply_send(ticket=ticket, author=agent, text="请补充", status="pending")
    clock.advance(days=2, hours=23)
    assert tasks.tickets_auto_close() == 0
    clock.advance(hours=2)
    locmem_backend.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.tickets_auto_close() == 1
    ticket.refresh_from_db()
    assert ticket.status == "closed"
    assert locmem_backend == [(ticket.number, "auto_closed", "")]


def test_resolved_ticket_closes_silently_after_the_reopen_window(
    clock, settings, make_ticket, locmem_backend, django_capture_on_commit_callbacks
):
    settings.TICKETS_REOPEN_DAYS = 2
    ticket = make_ticket()
    services.ticket_status_change(ticket=ticket, status="resolved")
    clock.advance(days=2, minutes=1)
    locmem_backend.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.tickets_auto_close() == 1
    assert Ticket.objects.get(pk=ticket.pk).status == "closed"
    assert locmem_backend == []


def test_waiting_tickets_are_assigned_when_an_agent_comes_on_duty(make_ticket, make_agent, queue):
    agent = make_agent(queue, on_duty=False)
    ticket = make_ticket()
    assert Ticket.objects.get(pk=ticket.pk).assignee is None
    agent.agent_profile.on_duty = True
    agent.agent_profile.save(update_fields=["on_duty"])
    assert tasks.tickets_assign_waiting() == 1
    assert Ticket.objects.get(pk=ticket.pk).assignee == agent
