"""The WeChat backend of the help desk against the local fake WeChat API."""

from datetime import timedelta

import pytest
from django.utils import timezone

from bot.conversations.models import Follower
from bot.helpdesk.backend import WeChatTicketBackend
from bot.notices.models import Notice, NoticeTemplate
from tickets import services
from tickets.models import AgentProfile, Queue, TicketEvent
from tickets.notify import NoticeKind

pytestmark = pytest.mark.django_db


# How an operator maps a ticket template (first / keyword1 number / keyword2 status / remark).
TICKET_FIELDS = {
    "first": "{first}",
    "keyword1": "{number}",
    "keyword2": "{status}",
    "remark": "{text}",
}


@pytest.fixture(autouse=True)
def wechat_backend(settings):
    settings.TICKETS_NOTIFY_BACKEND = "bot.helpdesk.backend.WeChatTicketBackend"
    for kind in ("ticket_event", "satisfaction"):
        NoticeTemplate.objects.create(
            kind=kind, template_id="TPL-TICKET", field_mapping=TICKET_FIELDS
        )


@pytest.fixture
def agent(django_user_model):
    user = django_user_model.objects.create_user("agent-ch", is_staff=True)
    profile = AgentProfile.objects.create(user=user, on_duty=True, notify_ref="o-agent-ch")
    profile.queues.set(Queue.objects.all())
    return user


def ticket_for(openid, *, last_seen):
    Follower.objects.create(openid=openid, subscribed=True, last_interaction_at=last_seen)
    return services.ticket_escalate(
        requester_ref=openid,
        category="invoice_not_found",
        reason="asked",
        text="查不到",
        announce=False,
    ).ticket


def test_reply_inside_48_hours_is_a_customer_service_message(
    agent, fake_wechat, django_capture_on_commit_callbacks
):
    ticket = ticket_for("o-in", last_seen=timezone.now() - timedelta(hours=47))
    with django_capture_on_commit_callbacks(execute=True):
        message = services.ticket_reply_send(ticket=ticket, author=agent, text="您好")
    [call] = fake_wechat.calls("/cgi-bin/message/custom/send")
    assert call.body["touser"] == "o-in"
    assert call.body["text"]["content"].startswith("您好")
    assert not fake_wechat.calls("/cgi-bin/message/template/send")
    info = WeChatTicketBackend().delivery_status(refs=[message.delivery_ref])[message.delivery_ref]
    assert (info.channel, info.status, info.delivered) == ("客服消息", "已发送", True)


def test_reply_after_48_hours_is_a_template_message(
    agent, fake_wechat, django_capture_on_commit_callbacks
):
    ticket = ticket_for("o-out", last_seen=timezone.now() - timedelta(hours=49))
    with django_capture_on_commit_callbacks(execute=True):
        message = services.ticket_reply_send(ticket=ticket, author=agent, text="核查结果：已入库")
    assert not fake_wechat.calls("/cgi-bin/message/custom/send")
    [call] = fake_wechat.calls("/cgi-bin/message/template/send")
    assert call.body["touser"] == "o-out"
    assert call.body["template_id"] == "TPL-TICKET"
    assert call.body["data"]["keyword1"]["value"] == ticket.number
    assert "核查结果：已入库" in call.body["data"]["remark"]["value"]
    info = WeChatTicketBackend().delivery_status(refs=[message.delivery_ref])[message.delivery_ref]
    assert info.channel == "模板消息" and info.delivered is True


def test_a_refused_reply_is_reported_as_not_delivered(
    agent, fake_wechat, settings, django_capture_on_commit_callbacks
):
    NoticeTemplate.objects.all().delete()
    settings.NOTICES_DEFAULT_TEMPLATE_ID = ""
    settings.WECHAT_DEFAULT_TEMPLATE_ID = ""
    ticket = ticket_for("o-late", last_seen=timezone.now() - timedelta(hours=47, minutes=58))
    fake_wechat.fail_next("/cgi-bin/message/custom/send", 45015)
    with django_capture_on_commit_callbacks(execute=True):
        message = services.ticket_reply_send(ticket=ticket, author=agent, text="您好")
    info = WeChatTicketBackend().delivery_status(refs=[message.delivery_ref])[message.delivery_ref]
    # Nothing to fall back on: the reply waits for the follower's next message.
    assert info.delivered is None and "45015" in info.detail
    assert info.status == "等待用户回复后发送"


def test_status_notices_reach_the_follower(agent, fake_wechat, django_capture_on_commit_callbacks):
    ticket = ticket_for("o-notice", last_seen=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_status_change(ticket=ticket, status="resolved", actor=agent)
    [call] = fake_wechat.calls("/cgi-bin/message/custom/send")
    text = call.body["text"]["content"]
    assert ticket.number in text and "1-5" in text


def test_notice_for_an_escalation_outside_a_conversation(
    fake_wechat, django_capture_on_commit_callbacks
):
    from bot.helpdesk.escalation import EscalationReason, escalate_follower

    follower = Follower.objects.create(
        openid="o-watch", subscribed=True, last_interaction_at=timezone.now()
    )
    invoices = [{"number": "24117000000212341234", "result": "not_found"}]
    with django_capture_on_commit_callbacks(execute=True):
        ticket = escalate_follower(
            follower=follower,
            reason=EscalationReason.WATCH_EXPIRED,
            category="sync_delay",
            invoices=invoices,
        )
    assert ticket.invoices == invoices
    assert ticket.subject == "发票跟踪到期仍未查到 24117000000212341234"
    [call] = fake_wechat.calls("/cgi-bin/message/custom/send")
    assert call.body["touser"] == "o-watch" and ticket.number in call.body["text"]["content"]


def test_requester_message_alerts_the_assignee(
    agent, fake_wechat, django_capture_on_commit_callbacks
):
    Follower.objects.create(
        openid="o-agent-ch", subscribed=True, last_interaction_at=timezone.now()
    )
    ticket = ticket_for("o-user", last_seen=timezone.now())
    services.ticket_assign(ticket=ticket, assignee=agent, actor=agent)
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_requester_message_add(ticket=ticket, text="补充：金额 100 元")
    [call] = fake_wechat.calls("/cgi-bin/message/custom/send")
    assert call.body["touser"] == "o-agent-ch"
    assert "补充：金额 100 元" in call.body["text"]["content"]


def test_every_notice_kind_has_a_template():
    for kind in NoticeKind:
        name = f"ticket_{'alert' if kind.audience == 'staff' else 'notice'}_{kind}.txt"
        from django.template.loader import get_template

        get_template(f"bot/replies/{name}")


def test_ticket_changes_make_the_fast_path_forget_the_follower(agent):
    from django.core.cache import cache

    from bot.helpdesk.state import QUIET, quiet_key

    cache.set(quiet_key("o-fast"), QUIET)
    ticket = ticket_for("o-fast", last_seen=timezone.now())
    assert cache.get(quiet_key("o-fast")) != QUIET
    cache.set(quiet_key("o-fast"), QUIET)
    services.ticket_status_change(ticket=ticket, status="resolved", actor=agent)
    assert cache.get(quiet_key("o-fast")) != QUIET


def test_a_reply_is_one_notice_and_its_status_shows_before_and_after_sending(
    agent, fake_wechat, django_capture_on_commit_callbacks
):
    ticket = ticket_for("o-pend", last_seen=timezone.now() - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message = services.ticket_reply_send(ticket=ticket, author=agent, text="稍等")
        notice = Notice.objects.get(kind="ticket_event", follower__openid="o-pend")
        assert message.delivery_ref == f"notice:{notice.pk}"
        assert notice.idempotency_key == f"ticket:{ticket.number}:agent_replied:{message.pk}"
        pending = WeChatTicketBackend().delivery_status(refs=[message.delivery_ref])
        info = pending[message.delivery_ref]
        # Not sent yet: the channel the 48-hour rule will pick, and no verdict.
        assert (info.channel, info.status, info.delivered) == ("客服消息", "待发送", None)
    for callback in callbacks:
        callback()
    info = WeChatTicketBackend().delivery_status(refs=[message.delivery_ref])[message.delivery_ref]
    assert (info.channel, info.delivered) == ("客服消息", True)
    assert len(fake_wechat.calls("/cgi-bin/message/custom/send")) == 1


def test_a_delivery_receipt_is_what_the_agent_sees(
    agent, fake_wechat, django_capture_on_commit_callbacks
):
    from bot.conversations.models import Message

    ticket = ticket_for("o-rcpt", last_seen=timezone.now() - timedelta(hours=60))
    with django_capture_on_commit_callbacks(execute=True):
        message = services.ticket_reply_send(ticket=ticket, author=agent, text="请补充")
    notice = Notice.objects.get(pk=message.delivery_ref.split(":")[1])
    Message.objects.filter(pk=notice.message_id).update(delivery_status="delivered")
    info = WeChatTicketBackend().delivery_status(refs=[message.delivery_ref])[message.delivery_ref]
    assert (info.channel, info.status, info.delivered) == ("模板消息", "已送达", True)


def test_a_repeated_status_notice_is_sent_once_and_resolve_asks_for_the_score(
    agent, fake_wechat, django_capture_on_commit_callbacks
):
    ticket = ticket_for("o-twice", last_seen=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_status_change(ticket=ticket, status="resolved", actor=agent)
        # The channel asked again for the same change (e.g. a retried hand-over).
        resolve = ticket.events.get(action="status", to_value="resolved")
        WeChatTicketBackend().requester_notify(
            ticket=ticket, kind=NoticeKind.RESOLVED, event_id=resolve.pk
        )
    [notice] = Notice.objects.filter(follower__openid="o-twice")
    assert notice.kind == "satisfaction" and "1-5" in notice.text
    assert len(fake_wechat.calls("/cgi-bin/message/custom/send")) == 1
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_status_change(ticket=ticket, status="open", actor=agent)
        services.ticket_status_change(ticket=ticket, status="resolved", actor=agent)
    # A second resolve is another event: asked again.
    assert Notice.objects.filter(follower__openid="o-twice", kind="satisfaction").count() == 2


def test_replies_sent_before_the_notice_service_still_show_their_delivery(agent, fake_wechat):
    from bot.conversations.models import Message

    follower = Follower.objects.create(openid="o-old", subscribed=True)
    old = Message.objects.create(
        follower=follower,
        direction=Message.Direction.OUT,
        msg_type=Message.Type.TEXT,
        text="旧回复",
        channel=Message.Channel.CUSTOMER_SERVICE,
        delivery_status=Message.Delivery.FAILED,
        error_code=45015,
        error_message="out of time",
    )
    ref = f"wx:{old.pk}"
    info = WeChatTicketBackend().delivery_status(refs=[ref])[ref]
    assert info.delivered is False and "45015" in info.detail


def test_two_quick_changes_to_one_ticket_are_two_notices(
    agent, fake_wechat, django_capture_on_commit_callbacks
):
    ticket = ticket_for("o-quick", last_seen=timezone.now())
    # One transaction, handed over at commit: each notice names its own change, so the
    # second resolve is not mistaken for the first (nor for the reopening in between).
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_status_change(ticket=ticket, status="resolved", actor=agent)
        services.ticket_status_change(ticket=ticket, status="open", actor=agent)
        services.ticket_status_change(ticket=ticket, status="resolved", actor=agent)
    events = list(
        TicketEvent.objects.filter(ticket=ticket, action__in=["status", "reopened"])
        .order_by("id")
        .values_list("pk", flat=True)
    )
    notices = Notice.objects.filter(follower__openid="o-quick").order_by("id")
    assert [n.idempotency_key for n in notices] == [
        f"ticket:{ticket.number}:resolved:{events[0]}",
        f"ticket:{ticket.number}:reopened:{events[1]}",
        f"ticket:{ticket.number}:resolved:{events[2]}",
    ]
    assert [n.kind for n in notices] == ["satisfaction", "ticket_event", "satisfaction"]
    assert len(fake_wechat.calls("/cgi-bin/message/custom/send")) == 3


def test_a_late_hand_over_still_names_its_own_change(
    agent, fake_wechat, django_capture_on_commit_callbacks
):
    ticket = ticket_for("o-late-hand", last_seen=timezone.now())
    # Two transactions back to back; the first one's after-commit hand-over runs only
    # after the second committed (another worker was quicker), when its row is no
    # longer the latest.
    with django_capture_on_commit_callbacks(execute=False) as first:
        services.ticket_status_change(ticket=ticket, status="resolved", actor=agent)
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_status_change(ticket=ticket, status="open", actor=agent)
        services.ticket_status_change(ticket=ticket, status="resolved", actor=agent)
    for callback in first:
        callback()
    keys = list(
        Notice.objects.filter(follower__openid="o-late-hand", kind="satisfaction")
        .order_by("id")
        .values_list("idempotency_key", flat=True)
    )
    resolves = ticket.events.filter(action="status", to_value="resolved").order_by("id")
    assert keys == [f"ticket:{ticket.number}:resolved:{e.pk}" for e in reversed(resolves)]


def test_two_quick_requester_messages_alert_the_assignee_twice(
    agent, fake_wechat, django_capture_on_commit_callbacks
):
    Follower.objects.create(
        openid="o-agent-ch", subscribed=True, last_interaction_at=timezone.now()
    )
    ticket = ticket_for("o-chatty", last_seen=timezone.now())
    services.ticket_assign(ticket=ticket, assignee=agent, actor=agent)
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_requester_message_add(ticket=ticket, text="第一条补充")
        services.ticket_requester_message_add(ticket=ticket, text="第二条补充")
    first, second = ticket.messages.filter(text__endswith="条补充").order_by("id")
    alerts = Notice.objects.filter(follower__openid="o-agent-ch").order_by("id")
    assert [n.idempotency_key for n in alerts] == [
        f"ticket:{ticket.number}:requester_replied:ticketmessage:{first.pk}",
        f"ticket:{ticket.number}:requester_replied:ticketmessage:{second.pk}",
    ]
    assert "第二条补充" in alerts[1].text


def test_a_reply_that_resolves_sends_the_answer_then_the_survey_in_one_message(
    agent, fake_wechat, django_capture_on_commit_callbacks
):
    ticket = ticket_for("o-last", last_seen=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_reply_send(ticket=ticket, author=agent, text="已处理好", status="resolved")
    [call] = fake_wechat.calls("/cgi-bin/message/custom/send")
    text = call.body["text"]["content"]
    assert text.index("已处理好") < text.index("1-5")  # the answer before the question
    kinds = list(ticket.messages.order_by("id").values_list("author_kind", "text"))
    assert kinds[-2] == ("agent", "已处理好") and "1-5" in kinds[-1][1]
