"""While a person has the ticket the bot steps back (#11 D1), through /wechat/."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tickets import services
from tickets.models import AgentProfile, Queue, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def wechat_backend(settings):
    settings.TICKETS_NOTIFY_BACKEND = "bot.helpdesk.backend.WeChatTicketBackend"


@pytest.fixture
def agent(django_user_model):
    user = django_user_model.objects.create_user("agent-ho", password="pw", is_staff=True)
    profile = AgentProfile.objects.create(user=user, on_duty=True)
    profile.queues.set(Queue.objects.all())
    return user


def say(wechat, openid, text):
    response = wechat.text(openid, text)
    assert response.status_code == 200
    reply = wechat.reply(response)
    return reply["Content"] if reply else ""


def _handed_off(wechat, agent, openid):
    say(wechat, openid, "转人工")
    ticket = Ticket.objects.get(requester_ref=openid)
    services.ticket_reply_send(ticket=ticket, author=agent, text="您好，请问哪张发票查不到？")
    return ticket


def test_the_bot_steps_back_and_acknowledges_once(wechat, agent):
    ticket = _handed_off(wechat, agent, "o-ho1")
    first = say(wechat, "o-ho1", "发票号码查不到怎么办")
    second = say(wechat, "o-ho1", "我昨天开的票")
    assert "已转给客服" in first and ticket.number in first
    assert second == ""  # at most one acknowledgement per period, no FAQ, no slot prompt
    texts = list(ticket.messages.order_by("created_at", "id").values_list("author_kind", "text"))
    assert ("user", "发票号码查不到怎么办") in texts and ("user", "我昨天开的票") in texts
    assert ("bot", first) in texts  # what the follower read is on the ticket, in order
    assert texts.index(("bot", first)) == texts.index(("user", "发票号码查不到怎么办")) + 1
    assert "3. 转人工" not in "".join(t for _, t in texts)


def test_invoice_fields_meanwhile_become_a_card_not_a_prompt(wechat, agent):
    ticket = _handed_off(wechat, agent, "o-ho2")
    reply = say(wechat, "o-ho2", "发票号码 24117000000212341234")
    assert "请提供" not in reply and "开票日期" not in reply
    ticket.refresh_from_db()
    assert [i["number"] for i in ticket.invoices] == ["24117000000212341234"]
    assert ticket.invoice_numbers == "24117000000212341234"
    found = services_search("24117000000212341234")
    assert ticket.pk in found


def services_search(number):
    from tickets.models import TicketInvoiceNumber

    return set(TicketInvoiceNumber.objects.filter(number=number).values_list("ticket", flat=True))


def test_my_tickets_and_asking_again_still_answer(wechat, agent):
    ticket = _handed_off(wechat, agent, "o-ho3")
    assert ticket.number in say(wechat, "o-ho3", "我的工单")
    assert ticket.number in say(wechat, "o-ho3", "转人工")
    assert Ticket.objects.filter(requester_ref="o-ho3").count() == 1


def test_ending_the_human_part_brings_the_bot_back(wechat, agent):
    ticket = _handed_off(wechat, agent, "o-ho4")
    ended = say(wechat, "o-ho4", "结束人工")
    ticket.refresh_from_db()
    assert ticket.status == "resolved" and "已结束人工服务" in ended
    assert ticket.messages.filter(author_kind="bot", text=ended).exists()
    back = say(wechat, "o-ho4", "怎么查验发票")
    assert back and "已转给客服" not in back


def test_a_silent_agent_lets_the_bot_answer_and_the_follower_is_told(wechat, agent, settings):
    settings.TICKETS_HANDOFF_SILENCE_MINUTES = 30
    ticket = _handed_off(wechat, agent, "o-ho5")
    Ticket.objects.filter(pk=ticket.pk).update(
        last_agent_message_at=timezone.now() - timedelta(minutes=31),
        created_at=timezone.now() - timedelta(minutes=40),
    )
    first = say(wechat, "o-ho5", "怎么查验发票")
    again = say(wechat, "o-ho5", "怎么查验发票")
    assert "客服暂时没有回复" in first and "客服暂时没有回复" not in again
    assert again  # the knowledge base's answer
    bot_texts = list(ticket.messages.filter(author_kind="bot").values_list("text", flat=True))
    assert first in bot_texts and again in bot_texts
