"""Reads: wait estimates, canned-response placeholders, visibility, query counts on hot paths."""

import pytest

from tests.tickets.helpers import at
from tickets import selectors, services
from tickets.models import Queue, Ticket

pytestmark = pytest.mark.django_db


def test_wait_estimate_in_hours_grows_with_the_queue_and_is_capped(
    clock, make_ticket, make_agent, queue, settings
):
    settings.TICKETS_MINUTES_PER_TICKET = 10
    make_agent(queue, capacity=0)  # on duty, takes nothing: tickets stay waiting
    first = make_ticket()
    wait = selectors.ticket_wait_estimate(ticket=first)
    assert (wait.minutes, wait.ahead, wait.within_hours) == (10, 0, True)
    assert wait.eta == at(2025, 11, 27, 10, 10)
    for _ in range(3):
        clock.advance(seconds=1)
        last = make_ticket()
    wait = selectors.ticket_wait_estimate(ticket=last)
    assert (wait.minutes, wait.ahead) == (10 + 3 * 10, 3)
    for _ in range(10):
        clock.advance(seconds=1)
        last = make_ticket()
    # 13 ahead × 10 min would be 140: the first-response target (60) caps it.
    assert selectors.ticket_wait_estimate(ticket=last).minutes == 60


def test_wait_estimate_learns_from_recent_first_responses(clock, make_ticket, make_agent, queue):
    agent = make_agent(queue, capacity=0)
    for _ in range(3):
        answered = make_ticket()
        clock.advance(minutes=30)
        services.ticket_reply_send(ticket=answered, author=agent, text="您好")
    waiting = make_ticket()
    assert selectors.ticket_wait_estimate(ticket=waiting).minutes == 30


def test_wait_estimate_out_of_hours_names_the_next_morning(clock, make_ticket):
    clock.now = at(2025, 11, 28, 20, 0)  # Friday evening
    wait = selectors.ticket_wait_estimate(ticket=make_ticket())
    assert not wait.within_hours
    assert wait.eta == at(2025, 12, 1, 9, 20)


def test_canned_placeholders_fill_known_names_only(make_ticket, make_agent, queue):
    agent = make_agent(queue, username="xiaowang")
    ticket = make_ticket(invoices=[{"number": "12345678"}])
    values = selectors.canned_placeholders(ticket=ticket, agent=agent)
    template = "{nickname}：{ticket_number}/{invoice_number} {agent_name} {unknown} {ticket.pk}"
    text = selectors.canned_fill(text=template, values=values)
    # The agent's display name, never the username; a placeholder without value stays.
    assert text == f"张三：{ticket.number}/12345678 客服 {{unknown}} {{ticket.pk}}"
    agent.agent_profile.display_name = "小王"
    agent.agent_profile.save()
    agent.refresh_from_db()
    anonymous = make_ticket()
    anonymous.requester_name = ""
    values = selectors.canned_placeholders(ticket=anonymous, agent=agent)
    text = selectors.canned_fill(
        text="{nickname}，您好！{invoice_number} {agent_name}", values=values
    )
    assert text == "尊敬的用户，您好！{invoice_number} 小王"
    assert selectors.canned_unfilled(text=text) == ["invoice_number"]


def test_visibility_by_queue(make_ticket, make_agent, queue, django_user_model):
    a = make_agent(queue)
    lead = make_agent(supervisor=True)
    mine = make_ticket()
    other = make_ticket(category="complaint")
    assert list(selectors.tickets_visible_to(user=a)) == [mine]
    assert set(selectors.tickets_visible_to(user=lead)) == {mine, other}
    stranger = django_user_model.objects.create_user("stranger", is_staff=True)
    assert not selectors.tickets_visible_to(user=stranger).exists()
    assert list(selectors.queues_visible_to(user=a)) == [queue]
    assert selectors.queues_visible_to(user=lead).count() == Queue.objects.count()


def test_queue_view_and_api_list_query_counts_do_not_grow_with_rows(
    client, make_ticket, make_agent, queue, django_assert_max_num_queries
):
    from knox.models import AuthToken

    agent = make_agent(queue)
    for _ in range(3):
        make_ticket()
    client.force_login(agent)
    _, key = AuthToken.objects.create(user=agent)
    auth = {"HTTP_AUTHORIZATION": f"Token {key}"}

    def counts():
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as admin_q:
            assert client.get("/admin/tickets/ticket/").status_code == 200
        with CaptureQueriesContext(connection) as api_q:
            assert client.get("/api/tickets/", **auth).status_code == 200
        ticket = Ticket.objects.filter(queue=queue).first()
        with CaptureQueriesContext(connection) as page_q:
            assert client.get(f"/admin/tickets/ticket/{ticket.pk}/change/").status_code == 200
        return len(admin_q), len(api_q), len(page_q)

    before = counts()
    for _ in range(20):
        ticket = make_ticket()
        services.ticket_note_add(ticket=ticket, author=agent, text="备注")
    assert counts() == before
    with django_assert_max_num_queries(8):
        client.get("/api/tickets/", **auth)
