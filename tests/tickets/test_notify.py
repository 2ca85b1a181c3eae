"""The delivery seam: every call names the row it is about, captured when that row was made."""

import pytest

from tests.tickets.helpers import RecordingBackend
from tickets import services
from tickets.models import TicketEvent, TicketMessage
from tickets.notify import NoticeKind

pytestmark = pytest.mark.django_db


@pytest.fixture
def recorded(settings):
    settings.TICKETS_NOTIFY_BACKEND = "tests.tickets.helpers.RecordingBackend"
    RecordingBackend.calls = []
    yield RecordingBackend.calls
    RecordingBackend.calls = []


def test_a_reply_hands_over_its_own_message(recorded, make_ticket, make_agent, queue):
    agent = make_agent(queue)
    ticket = make_ticket()
    first = services.ticket_reply_send(ticket=ticket, author=agent, text="您好")
    second = services.ticket_reply_send(ticket=ticket, author=agent, text="还在查")
    sent = [kw["message"] for name, kw in recorded if name == "reply_send"]
    assert [m.pk for m in sent] == [first.pk, second.pk]
    assert [m.text for m in sent] == ["您好", "还在查"]
    assert (first.delivery_ref, second.delivery_ref) == (f"rec:{first.pk}", f"rec:{second.pk}")


def test_status_notices_carry_the_event_of_their_change(
    recorded, make_ticket, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = make_ticket()
        services.ticket_status_change(ticket=ticket, status="resolved")
        services.ticket_status_change(ticket=ticket, status="open")
        services.ticket_status_change(ticket=ticket, status="resolved")
    notices = [(kw["kind"], kw["event_id"]) for name, kw in recorded if name == "requester_notify"]
    events = list(ticket.events.order_by("id").values_list("action", "pk"))
    assert [action for action, _ in events] == ["created", "status", "reopened", "status"]
    assert notices == [
        (NoticeKind.CREATED, events[0][1]),
        (NoticeKind.RESOLVED, events[1][1]),
        (NoticeKind.REOPENED, events[2][1]),
        (NoticeKind.RESOLVED, events[3][1]),
    ]


def test_staff_alerts_carry_the_row_that_raised_them(
    recorded, clock, make_ticket, make_agent, queue, django_capture_on_commit_callbacks
):
    from tests.tickets.helpers import at

    agent = make_agent(queue, notify_ref="o-agent", on_duty=False)
    make_agent(username="boss", supervisor=True, notify_ref="o-boss")
    ticket = make_ticket()
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_assign(ticket=ticket, assignee=agent, actor=agent)
        services.ticket_requester_message_add(ticket=ticket, text="补充一")
        services.ticket_requester_message_add(ticket=ticket, text="补充二")
    clock.now = at(2025, 11, 27, 11, 1)  # past the first-response due time
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_sla_breach_record(ticket_id=ticket.pk)
    alerts = [(kw["kind"], kw["ref"]) for name, kw in recorded if name == "staff_alert"]
    assigned = TicketEvent.objects.get(ticket=ticket, action="assigned")
    breach = TicketEvent.objects.get(ticket=ticket, action="sla_breached")
    one, two = TicketMessage.objects.filter(ticket=ticket, text__startswith="补充").order_by("id")
    assert alerts == [
        (NoticeKind.ASSIGNED, f"ticketevent:{assigned.pk}"),
        (NoticeKind.REQUESTER_REPLIED, f"ticketmessage:{one.pk}"),
        (NoticeKind.REQUESTER_REPLIED, f"ticketmessage:{two.pk}"),
        (NoticeKind.SLA_BREACHED, f"ticketevent:{breach.pk}"),
    ]
