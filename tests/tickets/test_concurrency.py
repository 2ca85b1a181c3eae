"""Real concurrent transactions on PostgreSQL: numbering, one ticket per requester, assignment."""

import pytest
from django.db import connection

from tests.concurrency import run_together
from tickets import services
from tickets.models import AgentProfile, Queue, Ticket, TicketEvent

pytestmark = [
    pytest.mark.django_db(transaction=True),
    # Transactional tests start from a flushed database: put the seeded queues back.
    pytest.mark.usefixtures("seeded_queues"),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks need PostgreSQL (DATABASE_URL)"
    ),
]


def test_numbers_are_unique_and_gapless_under_concurrency(settings):
    settings.TICKETS_NOTIFY_BACKEND = "tickets.notify.LoggingBackend"
    n = 12
    run_together(
        n,
        lambda i: services.ticket_escalate(
            requester_ref=f"o-par-{i}", category="verify_invoice", reason="asked", text="?"
        ),
    )
    numbers = sorted(Ticket.objects.values_list("number", flat=True))
    assert [int(num.rsplit("-", 1)[1]) for num in numbers] == list(range(1, n + 1))


def test_same_requester_concurrently_gets_one_ticket(settings):
    settings.TICKETS_NOTIFY_BACKEND = "tickets.notify.LoggingBackend"
    results = run_together(
        8,
        lambda i: services.ticket_escalate(
            requester_ref="o-same",
            category="human_agent",
            reason="asked",
            text=f"第{i}条",
            external_ref=f"wx:{i}",
        ),
    )
    assert Ticket.objects.filter(requester_ref="o-same").count() == 1
    assert sum(1 for r in results if r.created) == 1
    assert Ticket.objects.get().messages.count() == 8


def test_two_workers_never_assign_twice_nor_past_capacity(settings, django_user_model):
    settings.TICKETS_NOTIFY_BACKEND = "tickets.notify.LoggingBackend"
    queue = Queue.objects.get(slug="verify")
    tickets = [
        services.ticket_escalate(
            requester_ref=f"o-as-{i}", category="verify_invoice", reason="asked"
        ).ticket
        for i in range(10)
    ]
    # Escalation may have queued assignment; start from nobody assigned.
    Ticket.objects.update(assignee=None, status="new")
    TicketEvent.objects.filter(action="assigned").delete()
    for name, capacity in (("p", 3), ("q", 3), ("r", 2)):
        user = django_user_model.objects.create_user(username=name, is_staff=True)
        profile = AgentProfile.objects.create(user=user, on_duty=True, capacity=capacity)
        profile.queues.add(queue)
    # Two workers per ticket, all at once.
    jobs = [t.pk for t in tickets for _ in range(2)]
    run_together(len(jobs), lambda i: services.ticket_assign_auto(ticket_id=jobs[i]))
    assigned = Ticket.objects.exclude(assignee=None)
    assert assigned.count() == 8  # total capacity
    for t in tickets:
        assert TicketEvent.objects.filter(ticket=t, action="assigned").count() <= 1
    load = {name: assigned.filter(assignee__username=name).count() for name in ("p", "q", "r")}
    assert load == {"p": 3, "q": 3, "r": 2}
