"""Help-desk services: escalation, numbering, transitions with audit, SLA clocks, rating, merge."""

import pytest

from tests.tickets.helpers import at
from tickets import services
from tickets.models import Holiday, Queue, Ticket, TicketCounter, TicketEvent, TicketMessage
from tickets.services import TicketError, TicketErrorCode

pytestmark = pytest.mark.django_db


def test_escalation_opens_a_numbered_ticket_in_the_category_queue(
    clock, locmem_backend, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        result = services.ticket_escalate(
            requester_ref="o-1",
            requester_name="李四",
            category="issuing_problem",
            reason="asked",
            subject="开票软件上传失败",
            text="离线开票上传不了",
            external_ref="wx:1",
            invoices=[{"number": "24117000000212341234", "result": "not_found"}],
        )
    ticket = result.ticket
    assert result.created
    assert ticket.number == "T20251127-0001"
    assert ticket.queue.slug == "issuing"
    assert ticket.status == "new"
    assert ticket.invoice_numbers == "24117000000212341234"
    assert [m.text for m in ticket.messages.all()] == ["离线开票上传不了"]
    assert list(ticket.events.values_list("action", flat=True)) == ["created"]
    assert locmem_backend == [(ticket.number, "created", "")]


def test_numbers_count_per_local_day(clock, make_ticket):
    first = make_ticket()
    second = make_ticket()
    clock.advance(hours=14)  # 00:00 the next day in Shanghai (16:00 UTC)
    third = make_ticket()
    assert [first.number, second.number, third.number] == [
        "T20251127-0001",
        "T20251127-0002",
        "T20251128-0001",
    ]
    assert TicketCounter.objects.get(day=at(2025, 11, 27, 0, 0).date()).last == 2


def test_unknown_category_goes_to_the_default_queue(make_ticket):
    ticket = make_ticket(category="something_new")
    assert ticket.queue == Queue.objects.get(is_default=True)


def test_complaints_start_high(make_ticket):
    assert make_ticket(category="complaint").priority == "high"


def test_second_escalation_joins_the_open_ticket_once(make_ticket):
    ticket = make_ticket(openid="o-join", external_ref="wx:1")
    again = services.ticket_escalate(
        requester_ref="o-join",
        category="complaint",
        reason="complaint",
        text="还没人理我",
        external_ref="wx:2",
    )
    retry = services.ticket_escalate(
        requester_ref="o-join",
        category="complaint",
        reason="complaint",
        text="还没人理我",
        external_ref="wx:2",
    )
    assert not again.created and not retry.created
    assert again.ticket.pk == retry.ticket.pk == ticket.pk
    assert Ticket.objects.filter(requester_ref="o-join").count() == 1
    assert list(ticket.messages.values_list("text", flat=True)) == ["发票查不到", "还没人理我"]


def test_database_allows_one_active_ticket_per_requester(make_ticket):
    from django.db import IntegrityError, transaction

    ticket = make_ticket(openid="o-db")
    clone = Ticket(
        number="T-X",
        requester_ref="o-db",
        queue=ticket.queue,
        subject="x",
        created_at=ticket.created_at,
        updated_at=ticket.created_at,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        clone.save()


def test_transitions_are_validated_and_audited(
    make_ticket, make_agent, queue, locmem_backend, django_capture_on_commit_callbacks
):
    agent = make_agent(queue)
    with django_capture_on_commit_callbacks(execute=True):
        ticket = make_ticket()
        services.ticket_status_change(ticket=ticket, status="open", actor=agent)
        services.ticket_status_change(ticket=ticket, status="pending", actor=agent)
        services.ticket_status_change(ticket=ticket, status="resolved", actor=agent, note="已补开")
        services.ticket_status_change(ticket=ticket, status="closed", actor=agent)
    with pytest.raises(TicketError) as err:
        services.ticket_status_change(ticket=ticket, status="open", actor=agent)
    assert err.value.code == TicketErrorCode.INVALID_TRANSITION
    events = list(
        TicketEvent.objects.filter(ticket=ticket, action="status").values_list(
            "from_value", "to_value", "actor__username"
        )
    )
    assert events == [
        ("new", "open", agent.username),
        ("open", "pending", agent.username),
        ("pending", "resolved", agent.username),
        ("resolved", "closed", agent.username),
    ]
    ticket.refresh_from_db()
    assert ticket.status == "closed" and ticket.closed_at and ticket.resolved_at
    kinds = [kind for _, kind, _ in locmem_backend]
    assert kinds == ["created", "waiting_on_you", "resolved", "closed"]


def test_reopen_within_the_window_only(
    clock, make_ticket, settings, locmem_backend, django_capture_on_commit_callbacks
):
    settings.TICKETS_REOPEN_DAYS = 3
    ticket = make_ticket()
    services.ticket_status_change(ticket=ticket, status="resolved")
    clock.advance(days=2)
    with django_capture_on_commit_callbacks(execute=True):
        reopened = services.ticket_reopen_by_requester(ticket=ticket)
    assert reopened is not None and reopened.status == "open"
    assert reopened.events.filter(action="reopened").count() == 1
    services.ticket_status_change(ticket=ticket, status="resolved")
    clock.advance(days=4)
    assert services.ticket_reopen_by_requester(ticket=ticket) is None
    assert Ticket.objects.get(pk=ticket.pk).status == "resolved"
    assert "reopened" in [kind for _, kind, _ in locmem_backend]


def test_reopen_refused_when_another_ticket_is_active(make_ticket):
    old = make_ticket(openid="o-two")
    services.ticket_status_change(ticket=old, status="resolved")
    make_ticket(openid="o-two")
    with pytest.raises(TicketError) as err:
        services.ticket_status_change(ticket=old, status="open")
    assert err.value.code == TicketErrorCode.OTHER_TICKET_ACTIVE


def test_agent_reply_is_the_first_response_bot_messages_are_not(
    clock, make_ticket, make_agent, queue, locmem_backend
):
    agent = make_agent(queue)
    ticket = make_ticket()
    services.ticket_requester_message_add(ticket=ticket, text="机器人说的话", author_kind="bot")
    ticket.refresh_from_db()
    assert ticket.first_response_at is None
    clock.advance(minutes=12)
    message = services.ticket_reply_send(ticket=ticket, author=agent, text="您好，我来看看")
    ticket.refresh_from_db()
    # The reply is handed to the channel inside the transaction (it records its message).
    assert ticket.first_response_at == clock.now
    assert ticket.assignee == agent  # replying to an unassigned ticket takes it
    assert ticket.status == "open"
    assert message.delivery_ref.startswith("locmem:")
    assert "reply" in [kind for _, kind, _ in locmem_backend]
    first_at = ticket.first_response_at
    clock.advance(minutes=5)
    services.ticket_reply_send(ticket=ticket, author=agent, text="还在查")
    ticket.refresh_from_db()
    assert ticket.first_response_at == first_at
    assert ticket.events.filter(action="first_response").count() == 1


def test_reply_then_pending_does_not_send_a_second_notice(
    make_ticket, make_agent, queue, locmem_backend, django_capture_on_commit_callbacks
):
    agent = make_agent(queue)
    with django_capture_on_commit_callbacks(execute=True):
        ticket = make_ticket()
        services.ticket_reply_send(
            ticket=ticket, author=agent, text="请补充校验码", status="pending"
        )
    ticket.refresh_from_db()
    assert ticket.status == "pending"
    kinds = sorted(kind for _, kind, _ in locmem_backend)
    assert kinds == ["created", "reply"]  # no "waiting_on_you": the reply asks already


def test_empty_reply_and_reply_to_closed_are_refused(make_ticket, make_agent, queue):
    agent = make_agent(queue)
    ticket = make_ticket()
    with pytest.raises(TicketError):
        services.ticket_reply_send(ticket=ticket, author=agent, text="  ")
    services.ticket_status_change(ticket=ticket, status="closed")
    with pytest.raises(TicketError) as err:
        services.ticket_reply_send(ticket=ticket, author=agent, text="hi")
    assert err.value.code == TicketErrorCode.TICKET_CLOSED
    assert not TicketMessage.objects.filter(ticket=ticket, author_kind="agent").exists()


def test_sla_due_times_follow_targets_and_business_hours(clock, make_ticket):
    clock.now = at(2025, 11, 28, 17, 30)  # Friday
    ticket = make_ticket()  # normal: 60 / 1080 business minutes
    assert ticket.first_response_due == at(2025, 12, 1, 9, 30)
    # 30 min Friday + 540 Monday + 510 Tuesday
    assert ticket.resolution_due == at(2025, 12, 2, 17, 30)


def test_sla_clock_pauses_while_pending(clock, make_ticket, make_agent, queue):
    agent = make_agent(queue)
    ticket = make_ticket()  # Thursday 10:00
    due = ticket.resolution_due
    clock.advance(hours=1)
    services.ticket_reply_send(ticket=ticket, author=agent, text="请补充", status="pending")
    # Waits on the user Thursday 11:00 → Friday 11:00 = 540 business minutes.
    clock.now = at(2025, 11, 28, 11, 0)
    services.ticket_requester_message_add(ticket=ticket, text="补充好了")
    ticket.refresh_from_db()
    assert ticket.status == "open"
    assert ticket.sla_paused_minutes == 540
    assert ticket.sla_paused_at is None
    from tickets.business_hours import add_business_minutes

    assert ticket.resolution_due == add_business_minutes(due, 540)


def test_sla_pause_skips_holidays(clock, make_ticket):
    Holiday.objects.create(date=at(2025, 11, 28, 0, 0).date(), name="测试假日")
    ticket = make_ticket()  # Thursday 10:00
    services.ticket_status_change(ticket=ticket, status="pending")
    clock.now = at(2025, 12, 1, 10, 0)  # Monday; Friday was a holiday
    services.ticket_status_change(ticket=ticket, status="open")
    ticket.refresh_from_db()
    assert ticket.sla_paused_minutes == 480 + 60


def test_priority_change_recomputes_dues_and_is_audited(clock, make_ticket, make_agent, queue):
    agent = make_agent(queue)
    ticket = make_ticket()
    services.ticket_priority_set(ticket=ticket, priority="urgent", actor=agent)
    ticket.refresh_from_db()
    assert ticket.first_response_due == at(2025, 11, 27, 10, 15)
    assert ticket.events.filter(action="priority", to_value="urgent").exists()
    with pytest.raises(TicketError):
        services.ticket_priority_set(ticket=ticket, priority="whenever", actor=agent)


def test_rating_only_after_resolve_and_within_1_to_5(make_ticket):
    ticket = make_ticket()
    with pytest.raises(TicketError) as err:
        services.ticket_rate(ticket=ticket, score=5)
    assert err.value.code == TicketErrorCode.NOT_RATEABLE
    services.ticket_status_change(ticket=ticket, status="resolved")
    with pytest.raises(TicketError):
        services.ticket_rate(ticket=ticket, score=6)
    services.ticket_rate(ticket=ticket, score=4)
    ticket.refresh_from_db()
    assert ticket.satisfaction == 4
    assert ticket.events.filter(action="rated", to_value=4).exists()


def test_merge_moves_the_conversation_and_closes_the_duplicate(make_ticket, make_agent, queue):
    agent = make_agent(queue)
    old = make_ticket(openid="o-a", invoices=[{"number": "111"}])
    services.ticket_status_change(ticket=old, status="resolved")
    dup = make_ticket(openid="o-a", text="同一张票还是不行", invoices=[{"number": "222"}])
    services.ticket_status_change(ticket=old, status="closed")
    with pytest.raises(TicketError):
        services.ticket_merge(source=dup, target=old, actor=agent)
    keep = make_ticket(openid="o-b", text="另一个渠道来的")
    services.ticket_merge(source=dup, target=keep, actor=agent)
    dup.refresh_from_db()
    keep.refresh_from_db()
    assert dup.status == "closed" and dup.merged_into == keep
    assert "同一张票还是不行" in keep.messages.values_list("text", flat=True)
    assert keep.invoice_numbers == "222"
    assert keep.events.filter(action="merged_from", from_value=dup.number).exists()
    assert dup.events.filter(action="merged", to_value=keep.number).exists()


def test_sla_breached_is_the_same_in_python_and_sql(make_ticket):
    from django.utils import timezone

    from tickets.models import sla_breached_q

    now = timezone.now()
    cases = [(None, None), (now, None), (None, now), (now, now)]
    for first, resolution in cases:
        ticket = make_ticket()
        Ticket.objects.filter(pk=ticket.pk).update(
            first_response_breached_at=first, resolution_breached_at=resolution
        )
        ticket.refresh_from_db()
        in_sql = Ticket.objects.filter(sla_breached_q(), pk=ticket.pk).exists()
        assert ticket.sla_breached is in_sql is (first is not None or resolution is not None)


def test_ticket_update_names_the_assignee_one_way_only(make_ticket, make_agent, queue):
    agent = make_agent(queue)
    with pytest.raises(ValueError):
        services.ticket_update(
            ticket=make_ticket(), actor=agent, assignee_username="x", assignee_id=1
        )


def test_a_ticket_error_is_a_domain_error_that_survives_pickling():
    import pickle

    from support.errors import DomainError

    error = TicketError(TicketErrorCode.UNKNOWN_ASSIGNEE, "处理人“x”不存在", field="assignee")
    assert isinstance(error, DomainError) and error.status == 400
    assert TicketError(TicketErrorCode.TICKET_CLOSED).status == 409
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert (copy.code, copy.message, copy.status, copy.field) == (
        error.code,
        error.message,
        400,
        "assignee",
    )
