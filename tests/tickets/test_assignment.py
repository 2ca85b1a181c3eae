"""Assignment: round robin among on-duty agents with capacity, manual reassignment."""

import pytest

from tickets import services
from tickets.models import AgentProfile, Queue, Ticket
from tickets.services import TicketError, TicketErrorCode

pytestmark = pytest.mark.django_db


def test_round_robin_skips_off_duty_and_full_agents(make_agent, make_ticket, queue):
    a = make_agent(queue, username="a")
    b = make_agent(queue, username="b")
    make_agent(queue, username="off", on_duty=False)
    make_agent(Queue.objects.get(slug="complaint"), username="other-queue")
    tickets = [make_ticket() for _ in range(4)]
    Ticket.objects.update(assignee=None, status="new")  # undo the eager on-commit assignment
    AgentProfile.objects.update(last_assigned_at=None)
    got = [services.ticket_assign_auto(ticket_id=t.pk).username for t in tickets]
    assert got == ["a", "b", "a", "b"]
    assert Ticket.objects.get(pk=tickets[0].pk).status == "open"
    AgentProfile.objects.filter(user=a).update(capacity=2)
    extra = make_ticket()
    Ticket.objects.filter(pk=extra.pk).update(assignee=None)
    assert services.ticket_assign_auto(ticket_id=extra.pk) == b


def test_nobody_free_leaves_the_ticket_waiting(make_agent, make_ticket, queue):
    make_agent(queue, capacity=0)
    ticket = make_ticket()
    assert services.ticket_assign_auto(ticket_id=ticket.pk) is None
    assert Ticket.objects.get(pk=ticket.pk).assignee is None


def test_auto_assignment_is_idempotent(make_agent, make_ticket, queue):
    make_agent(queue)
    ticket = make_ticket()
    Ticket.objects.filter(pk=ticket.pk).update(assignee=None)
    first = services.ticket_assign_auto(ticket_id=ticket.pk)
    assert first is not None
    assert services.ticket_assign_auto(ticket_id=ticket.pk) is None
    assert ticket.events.filter(action="assigned").count() == 1


def test_manual_reassignment_checks_the_queue_and_is_audited(make_agent, make_ticket, queue):
    lead = make_agent(username="lead", supervisor=True)
    a = make_agent(queue, username="a2", on_duty=False)
    outsider = make_agent(Queue.objects.get(slug="complaint"), username="outsider")
    ticket = make_ticket()
    services.ticket_assign(ticket=ticket, assignee=a, actor=lead)
    with pytest.raises(TicketError) as err:
        services.ticket_assign(ticket=ticket, assignee=outsider, actor=lead)
    assert err.value.code == TicketErrorCode.NOT_IN_QUEUE
    services.ticket_assign(ticket=ticket, assignee=lead, actor=lead)  # supervisors: any queue
    ticket.refresh_from_db()
    assert ticket.assignee == lead
    events = list(ticket.events.filter(action="assigned").values_list("from_value", "to_value"))
    assert events == [(None, "a2"), ("a2", "lead")]
