"""人工客服 to the agent's reply with a real Celery worker, Redis broker and PostgreSQL."""

import pytest
from knox.models import AuthToken

from tests.concurrency import wait_for
from tickets.models import AgentProfile, Queue, Ticket

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("seeded_queues"),
]


def test_escalation_assignment_and_reply_through_the_worker(
    celery_worker_process, fake_wechat_server, wechat, client, settings, django_user_model
):
    settings.TICKETS_NOTIFY_BACKEND = "bot.helpdesk.backend.WeChatTicketBackend"
    agent = django_user_model.objects.create_user("agent-int", is_staff=True)
    profile = AgentProfile.objects.create(user=agent, on_duty=True)
    profile.queues.set(Queue.objects.all())

    # The menu click needs no knowledge base: transactional tests start from a flushed database.
    reply = wechat.reply(wechat.event("o-int", "CLICK", "HUMAN_AGENT"))["Content"]
    ticket = Ticket.objects.get(requester_ref="o-int")
    assert ticket.number in reply

    def assigned():
        ticket.refresh_from_db()
        return ticket.assignee_id == agent.pk

    assert wait_for(assigned), "the worker did not assign the ticket"
    assert ticket.status == "open"

    _, key = AuthToken.objects.create(user=agent)
    response = client.post(
        f"/api/tickets/{ticket.pk}/replies/",
        {"text": "您好，已收到您的问题"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {key}",
    )
    assert response.status_code == 201

    def sent():
        return [
            c
            for c in fake_wechat_server.calls("/cgi-bin/message/custom/send")
            if c.body["touser"] == "o-int"
        ]

    assert wait_for(sent), "the worker did not deliver the reply"
    assert "您好，已收到您的问题" in sent()[0].body["text"]["content"]
