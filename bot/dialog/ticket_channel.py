"""The WeChat side of the help desk's delivery seam (`TICKETS_NOTIFY_BACKEND`).

Agent replies and status notices go to the follower as a customer-service
message while WeChat's 48-hour window is open, and as a template message once
it has closed; staff alerts go to agents who follow the account (their openid in
`AgentProfile.notify_ref`). Everything goes through `bot.wechat.outbound`, so it
is recorded, sent after commit and retried like any other push.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from bot.dialog.helpdesk_state import helpdesk_state_forget
from bot.wechat.models import Follower, Message
from bot.wechat.outbound import outbound_template_send, outbound_text_send
from tickets.models import Ticket
from tickets.notify import BaseBackend, DeliveryInfo, NoticeKind
from tickets.services.config import conf

logger = logging.getLogger(__name__)

# WeChat allows customer-service messages for 48 hours after the user's last
# interaction; a small margin covers the time the message waits in the queue.
REPLY_WINDOW = timedelta(hours=48) - timedelta(minutes=5)
REF_PREFIX = "wx:"


def in_reply_window(follower: Follower) -> bool:
    last = follower.last_interaction_at
    return last is not None and timezone.now() - last < REPLY_WINDOW


def _template_id() -> str:
    return (
        getattr(settings, "TICKETS_WECHAT_TEMPLATE_ID", "") or settings.WECHAT_DEFAULT_TEMPLATE_ID
    )


def _render(template: str, **context) -> str:
    return render_to_string(template, context).strip()


def _push(*, follower: Follower, ticket: Ticket, text: str, heading: str) -> Message:
    """A customer-service message inside the window; else a template message if one is set up."""
    template_id = _template_id()
    if in_reply_window(follower) or not template_id:
        # Without a template the attempt is still made and its failure (45015) recorded.
        return outbound_text_send(follower=follower, text=text)
    data = {
        "first": {"value": heading},
        "keyword1": {"value": ticket.number},
        "keyword2": {"value": ticket.get_status_display()},
        "remark": {"value": text[:200]},
        # Templates with a single {{content.DATA}} field read this one.
        "content": {"value": text[:200]},
    }
    return outbound_template_send(follower=follower, template_id=template_id, data=data, text=text)


class WeChatTicketBackend(BaseBackend):
    def reply_send(self, *, ticket: Ticket, text: str) -> str:
        follower = Follower.objects.filter(openid=ticket.requester_ref).first()
        if follower is None:
            logger.warning("ticket %s: no follower %s", ticket.number, ticket.requester_ref)
            return ""
        body = _render("bot/replies/ticket_reply.txt", ticket=ticket, text=text)
        heading = _render("bot/replies/ticket_notice_agent_replied.txt", ticket=ticket)
        message = _push(follower=follower, ticket=ticket, text=body, heading=heading)
        return f"{REF_PREFIX}{message.pk}"

    def requester_notify(self, *, ticket: Ticket, kind: NoticeKind) -> None:
        follower = Follower.objects.filter(openid=ticket.requester_ref).first()
        if follower is None or not follower.subscribed:
            return
        text = _render(
            f"bot/replies/ticket_notice_{kind}.txt",
            ticket=ticket,
            reopen_days=conf("TICKETS_REOPEN_DAYS"),
            auto_close_days=conf("TICKETS_AUTO_CLOSE_DAYS"),
        )
        _push(follower=follower, ticket=ticket, text=text, heading=text.splitlines()[0])

    def staff_alert(
        self, *, ticket: Ticket, kind: NoticeKind, recipients: list[str], text: str = ""
    ) -> None:
        body = _render(f"bot/replies/ticket_alert_{kind}.txt", ticket=ticket, text=text)
        for follower in Follower.objects.filter(openid__in=recipients, subscribed=True):
            _push(follower=follower, ticket=ticket, text=body, heading=body[:40])

    def delivery_status(self, *, refs: list[str]) -> dict[str, DeliveryInfo]:
        ids = {
            int(ref[len(REF_PREFIX) :]): ref
            for ref in refs
            if ref.startswith(REF_PREFIX) and ref[len(REF_PREFIX) :].isdigit()
        }
        out = {}
        for message in Message.objects.filter(pk__in=ids, direction=Message.Direction.OUT):
            status = message.delivery_status
            delivered = {
                Message.Delivery.SENT: True,
                Message.Delivery.DELIVERED: True,
                Message.Delivery.SIMULATED: True,
                Message.Delivery.FAILED: False,
            }.get(status)
            detail = (
                f"{message.error_code} {message.error_message}".strip()
                if delivered is False
                else ""
            )
            out[ids[message.pk]] = DeliveryInfo(
                channel=message.get_channel_display(),
                status=message.get_delivery_status_display(),
                delivered=delivered,
                detail=detail,
            )
        return out

    def ticket_changed(self, *, ticket: Ticket) -> None:
        # The webhook's fast path must not keep treating this follower as ticket-free.
        helpdesk_state_forget(ticket.requester_ref)
