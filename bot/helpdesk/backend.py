"""The WeChat side of the help desk's delivery seam (`TICKETS_NOTIFY_BACKEND`).

Agent replies, status notices and staff alerts go out through the notice service
(`bot.notices.services.notice_send`): a customer-service message while WeChat's
48-hour window is open, the kind's template message once it has closed, retries,
the shared throttle, and an idempotency key per event and recipient, so a retried
task or a repeated call never tells anyone twice. The key names the row the help
desk handed over (the reply's TicketMessage, the change's TicketEvent, the alert's
`ref`), never "the latest row" read at send time: two quick changes to one ticket
are two notices. The delivery ref of a reply is `notice:<Notice.pk>`; agents see
that notice's channel and status.
"""

import logging

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from bot.conversations.models import Attachment, Follower, Message
from bot.helpdesk.state import helpdesk_state_forget
from bot.helpdesk.window import reply_window_of
from bot.notices.channels import within_service_window
from bot.notices.models import Notice
from bot.notices.services import notice_send, notice_waits_for_follower, notices_waiting_resend
from tickets.models import Ticket, TicketMessage
from tickets.notify import BaseBackend, DeliveryInfo, NoticeKind
from tickets.services import ticket_bot_message_add
from tickets.services.config import conf

logger = logging.getLogger(__name__)

REF_PREFIX = "notice:"
# Replies delivered before the notice service carried them point at an outbound Message.
LEGACY_REF_PREFIX = "wx:"
# Notice kinds (bot.notices.models.NoticeKind): the resolved notice asks for the score.
TICKET_EVENT, SATISFACTION = "ticket_event", "satisfaction"
WAITING_LABEL = "等待用户回复后发送"


def ticket_replies_waiting_send(*, ticket: Ticket, follower_id: int) -> list[int]:
    """The follower wrote: the ticket's replies that waited for the window go out now."""
    return notices_waiting_resend(follower_id=follower_id, key_prefix=f"ticket:{ticket.number}:")


def _render(template: str, **context) -> str:
    return render_to_string(template, context).strip()


def _send(*, follower: Follower, ticket: Ticket, text: str, heading: str, key: str, kind: str):
    """Queue one notice; the template fields name the ticket (see NoticeTemplate mappings)."""
    return notice_send(
        kind=kind,
        follower_id=follower.pk,
        text=text,
        idempotency_key=key[:120],
        template_data={
            "first": heading,
            "number": ticket.number,
            "status": ticket.get_status_display(),
        },
    )


def _notice_text(*, ticket: Ticket, kind: NoticeKind) -> str:
    return _render(
        f"bot/replies/ticket_notice_{kind}.txt",
        ticket=ticket,
        reopen_days=conf("TICKETS_REOPEN_DAYS"),
        auto_close_days=conf("TICKETS_AUTO_CLOSE_DAYS"),
    )


def _on_ticket(*, ticket: Ticket, text: str, ref: str | None = None) -> None:
    """Write a message the follower is sent on the ticket's conversation (as the bot)."""
    ticket_bot_message_add(ticket=ticket, text=text, external_ref=ref)


def _delivered(status: str) -> bool | None:
    if status in Notice.DONE_OK:
        return True
    if status in (*Notice.DONE_BAD, Notice.Status.CANCELLED):
        return False
    return None  # still pending or sending


class WeChatTicketBackend(BaseBackend):
    def reply_send(
        self, *, ticket: Ticket, message: TicketMessage, carries: NoticeKind | None = None
    ) -> str:
        follower = Follower.objects.filter(openid=ticket.requester_ref).first()
        if follower is None:
            logger.warning("ticket %s: no follower %s", ticket.number, ticket.requester_ref)
            return ""
        body = _render("bot/replies/ticket_reply.txt", ticket=ticket, text=message.text)
        heading = _render("bot/replies/ticket_notice_agent_replied.txt", ticket=ticket)
        kind = TICKET_EVENT
        if carries is not None:
            # One message: the answer first, then the survey (two could arrive swapped).
            survey = _notice_text(ticket=ticket, kind=carries)
            body = f"{body}\n\n{survey}"
            kind = SATISFACTION if carries == NoticeKind.RESOLVED else TICKET_EVENT
            _on_ticket(ticket=ticket, text=survey)
        notice = _send(
            follower=follower,
            ticket=ticket,
            text=body,
            heading=heading,
            key=f"ticket:{ticket.number}:{NoticeKind.AGENT_REPLIED}:{message.pk}",
            kind=kind,
        )
        return f"{REF_PREFIX}{notice.pk}"

    def requester_notify(self, *, ticket: Ticket, kind: NoticeKind, event_id: int) -> None:
        follower = Follower.objects.filter(openid=ticket.requester_ref).first()
        if follower is None or not follower.subscribed:
            return
        text = _notice_text(ticket=ticket, kind=kind)
        # What the follower receives is on the ticket, in order (once per event).
        _on_ticket(ticket=ticket, text=text, ref=f"notice:{kind}:{event_id}")
        _send(
            follower=follower,
            ticket=ticket,
            text=text,
            heading=text.splitlines()[0],
            key=f"ticket:{ticket.number}:{kind}:{event_id}",
            kind=SATISFACTION if kind == NoticeKind.RESOLVED else TICKET_EVENT,
        )

    def staff_alert(
        self,
        *,
        ticket: Ticket,
        kind: NoticeKind,
        recipients: list[str],
        ref: str,
        text: str = "",
    ) -> None:
        body = _render(f"bot/replies/ticket_alert_{kind}.txt", ticket=ticket, text=text)
        for follower in Follower.objects.filter(openid__in=recipients, subscribed=True):
            _send(
                follower=follower,
                ticket=ticket,
                text=body,
                heading=body[:40],
                key=f"ticket:{ticket.number}:{kind}:{ref}",
                kind=TICKET_EVENT,
            )

    def delivery_status(self, *, refs: list[str]) -> dict[str, DeliveryInfo]:
        out = {}
        notices = _ids(refs, REF_PREFIX)
        now = timezone.now()
        for notice in Notice.objects.filter(pk__in=notices).select_related("follower", "message"):
            out[notices[notice.pk]] = _notice_info(notice, now=now)
        legacy = _ids(refs, LEGACY_REF_PREFIX)
        for message in Message.objects.filter(pk__in=legacy, direction=Message.Direction.OUT):
            out[legacy[message.pk]] = _message_info(message)
        return out

    def attachments(self, *, refs: list[str], request=None) -> dict[str, list[dict]]:
        """Kept files of the messages behind `wx:<Message.pk>` refs, with their URLs."""
        ids = _ids(refs, LEGACY_REF_PREFIX)
        out: dict[str, list[dict]] = {}
        for attachment in Attachment.objects.filter(message_id__in=ids).order_by("id"):
            url = reverse("conversations:api-attachment", args=[attachment.pk])
            if request is not None:
                url = request.build_absolute_uri(url)
            out.setdefault(ids[attachment.message_id], []).append(
                {"kind": attachment.kind, "url": url, "content_type": attachment.content_type}
            )
        return out

    def reply_window(self, *, ticket: Ticket) -> dict | None:
        follower = Follower.objects.filter(openid=ticket.requester_ref).first()
        return reply_window_of(follower=follower).as_json()

    def ticket_changed(self, *, ticket: Ticket) -> None:
        # The webhook's fast path must not keep treating this follower as ticket-free.
        helpdesk_state_forget(ticket.requester_ref)


def _ids(refs: list[str], prefix: str) -> dict[int, str]:
    return {
        int(ref[len(prefix) :]): ref
        for ref in refs
        if ref.startswith(prefix) and ref[len(prefix) :].isdigit()
    }


def _notice_info(notice: Notice, *, now) -> DeliveryInfo:
    """A notice's delivery in the agent's words; a receipt on its message wins."""
    if notice.channel:
        channel = notice.get_channel_display()
    else:  # not sent yet: the channel the 48-hour rule will pick
        inside = within_service_window(notice.follower.last_interaction_at, now=now)
        channel = Notice.Channel.CUSTOMER_SERVICE.label if inside else Notice.Channel.TEMPLATE.label
    message = notice.message
    if message is not None and message.delivery_status in (
        Message.Delivery.DELIVERED,
        Message.Delivery.FAILED,
    ):
        return _message_info(message)
    delivered = _delivered(notice.status)
    detail = ""
    if notice_waits_for_follower(notice):
        # The window is closed and no template is configured: it goes out on their next word.
        return DeliveryInfo(
            channel=Notice.Channel.CUSTOMER_SERVICE.label,
            status=WAITING_LABEL,
            delivered=None,
            detail=f"{notice.error_code or ''} {notice.error_message}".strip(),
        )
    if delivered is False:
        detail = f"{notice.error_code or ''} {notice.error_message}".strip()
    return DeliveryInfo(
        channel=channel, status=notice.get_status_display(), delivered=delivered, detail=detail
    )


def _message_info(message: Message) -> DeliveryInfo:
    delivered = {
        Message.Delivery.SENT: True,
        Message.Delivery.DELIVERED: True,
        Message.Delivery.SIMULATED: True,
        Message.Delivery.FAILED: False,
    }.get(message.delivery_status)
    detail = f"{message.error_code} {message.error_message}".strip() if delivered is False else ""
    return DeliveryInfo(
        channel=message.get_channel_display(),
        status=message.get_delivery_status_display(),
        delivered=delivered,
        detail=detail,
    )
