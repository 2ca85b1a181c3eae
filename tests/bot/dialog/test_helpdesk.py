"""The taxpayer's side of the help desk, end to end through /wechat/ like WeChat sends it."""

import pytest
from django.urls import reverse

from bot.conversations.models import Follower, Message
from bot.simulator.envelope import message_fields
from tickets import services
from tickets.models import AgentProfile, Queue, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def wechat_backend(settings):
    settings.TICKETS_NOTIFY_BACKEND = "bot.helpdesk.backend.WeChatTicketBackend"


@pytest.fixture
def agent(django_user_model):
    user = django_user_model.objects.create_user("agent-wx", password="pw", is_staff=True)
    profile = AgentProfile.objects.create(user=user, on_duty=True, notify_ref="o-agent")
    profile.queues.set(Queue.objects.all())
    return user


def say(wechat, openid, text, **extra):
    response = wechat.text(openid, text, **extra)
    assert response.status_code == 200
    reply = wechat.reply(response)
    return reply["Content"] if reply else ""


def test_asking_for_a_person_opens_one_ticket_even_under_retries(wechat):
    say(wechat, "o-e2e", "你好")
    fields = message_fields(openid="o-e2e", msg_type="text", Content="转人工")
    first = wechat.reply(wechat.post(fields))["Content"]
    retry = wechat.reply(wechat.post(fields))["Content"]  # WeChat retries the same MsgId
    ticket = Ticket.objects.get(requester_ref="o-e2e")
    assert ticket.number in first and first == retry
    assert "12366" in first  # what happens next, and the hotline
    assert "分钟" in first or "前会有客服回复" in first  # a wait estimate
    assert ticket.category == "human_agent" and ticket.escalation_reason == "asked"
    conversation = list(ticket.messages.values_list("author_kind", "text"))
    # The conversation that led here, the request, and the bot's answer: once each.
    assert conversation[0] == ("user", "你好")
    assert conversation[1][0] == "bot"
    assert ("user", "转人工") in conversation
    assert conversation[-1] == ("bot", first)
    assert len(conversation) == 4


def test_menu_click_escalates(wechat):
    reply = wechat.reply(wechat.event("o-menu", "CLICK", "HUMAN_AGENT"))["Content"]
    ticket = Ticket.objects.get(requester_ref="o-menu")
    assert ticket.number in reply


def test_complaint_goes_to_the_complaint_queue_with_high_priority(wechat):
    reply = say(wechat, "o-angry", "我要投诉你们客服，太慢了")
    ticket = Ticket.objects.get(requester_ref="o-angry")
    assert ticket.number in reply
    assert ticket.queue.slug == "complaint" and ticket.priority == "high"


def test_two_misses_after_the_offer_escalate(wechat):
    replies = []
    for text in ("给我讲个笑话吧", "明天北京天气怎么样", "帮我订一张去上海的机票"):
        replies.append(say(wechat, "o-lost", text))
        if Ticket.objects.filter(requester_ref="o-lost").exists():
            break
    ticket = Ticket.objects.get(requester_ref="o-lost")
    assert "转人工" in replies[1]  # the offer was shown first
    assert ticket.escalation_reason == "missed"
    assert ticket.number in replies[-1]


def test_messages_join_the_open_ticket_and_my_tickets_shows_it(wechat, agent):
    say(wechat, "o-open", "转人工")
    ticket = Ticket.objects.get(requester_ref="o-open")
    say(wechat, "o-open", "发票号码 24117000000212341234，开票日期 2025-11-20")
    assert ticket.messages.filter(text__contains="24117000000212341234").exists()
    status = say(wechat, "o-open", "我的工单")
    assert ticket.number in status
    assert Ticket.objects.get(pk=ticket.pk).get_status_display() in status
    again = say(wechat, "o-open", "转人工")
    assert ticket.number in again
    assert Ticket.objects.filter(requester_ref="o-open").count() == 1


def test_my_tickets_menu_without_tickets(wechat):
    reply = wechat.reply(wechat.event("o-none", "CLICK", "MY_TICKETS"))["Content"]
    assert "没有进行中的工单" in reply


def test_satisfaction_after_resolve_and_reopen(wechat, agent):
    say(wechat, "o-csat", "转人工")
    ticket = Ticket.objects.get(requester_ref="o-csat")
    services.ticket_status_change(ticket=ticket, status="resolved", actor=agent)
    thanks = say(wechat, "o-csat", "5")
    ticket.refresh_from_db()
    assert ticket.satisfaction == 5
    assert "5" in thanks
    reopened = say(wechat, "o-csat", "还是查不到，发票显示查无此票")
    ticket.refresh_from_db()
    assert ticket.status == "open"
    assert ticket.number in reopened


def test_agent_reply_in_admin_and_api_reaches_wechat(
    wechat, agent, client, fake_wechat, django_capture_on_commit_callbacks
):
    say(wechat, "o-reply", "转人工")
    ticket = Ticket.objects.get(requester_ref="o-reply")
    client.force_login(agent)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("admin:tickets_ticket_reply", args=[ticket.pk]), {"text": "您好，我是客服"}
        )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/api/tickets/{ticket.pk}/replies/",
            {"text": "已为您核查"},
            content_type="application/json",
        )
    assert response.status_code == 201
    sent = [c.body for c in fake_wechat.calls("/cgi-bin/message/custom/send")]
    assert [b["touser"] for b in sent] == ["o-reply", "o-reply"]
    assert "您好，我是客服" in sent[0]["text"]["content"]
    assert ticket.number in sent[0]["text"]["content"]
    assert response.json()["channel"] == "客服消息"
    html = client.get(reverse("admin:tickets_ticket_change", args=[ticket.pk])).content.decode()
    assert "客服消息" in html and "已发送" in html
    out = Message.objects.filter(follower__openid="o-reply", channel="customer_service")
    assert out.count() == 2 and set(out.values_list("delivery_status", flat=True)) == {"sent"}
    assert Follower.objects.get(openid="o-reply")


def test_a_second_score_changes_it_and_does_not_reopen(wechat, agent):
    say(wechat, "o-rate2", "转人工")
    ticket = Ticket.objects.get(requester_ref="o-rate2")
    services.ticket_status_change(ticket=ticket, status="resolved", actor=agent)
    say(wechat, "o-rate2", "3")
    say(wechat, "o-rate2", "5分")
    ticket.refresh_from_db()
    assert (ticket.status, ticket.satisfaction) == ("resolved", 5)


def test_asking_for_a_person_soon_after_resolve_reopens_the_same_ticket(wechat, agent):
    say(wechat, "o-back", "转人工")
    ticket = Ticket.objects.get(requester_ref="o-back")
    services.ticket_status_change(ticket=ticket, status="resolved", actor=agent)
    reply = say(wechat, "o-back", "转人工")
    assert ticket.number in reply
    assert Ticket.objects.filter(requester_ref="o-back").count() == 1
    assert Ticket.objects.get(pk=ticket.pk).status == "open"


def test_a_number_without_a_resolved_ticket_is_just_text(wechat):
    say(wechat, "o-digit", "5")
    assert not Ticket.objects.filter(requester_ref="o-digit").exists()
