"""The delivery seam: the help desk talks to people through the backend in `TICKETS_NOTIFY_BACKEND`.

Like Django's `EMAIL_BACKEND`: the help desk knows no channel; the WeChat side
provides a backend that pushes to the follower and alerts staff. Three calls:

- `reply_send`: an agent's reply (its TicketMessage), called inside the service's
  transaction so the channel can record its outgoing message atomically; returns
  a delivery ref.
- `requester_notify` / `staff_alert`: status notices, handed over after commit
  (`notice_on_commit`, `alert_on_commit`), so nothing is announced for a
  rolled-back change.
- `delivery_status`: how the replies with these refs went (shown to agents).

Every call names what it is about: the reply's message, the TicketEvent of the
change (`event_id`), the event or message that raised an alert (`ref`, see
`source_ref`), captured by the service that created it. A backend keys its
idempotency on these and never guesses from "the latest row", which two quick
changes to one ticket would share.

The backend renders the words itself: user-facing text belongs to the channel.
"""

import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from tickets.models import Ticket, TicketEvent, TicketMessage

logger = logging.getLogger(__name__)

DEFAULT_BACKEND = "tickets.notify.LoggingBackend"


class NoticeKind(StrEnum):
    """What happened; `audience` says whether the requester or staff should hear it."""

    CREATED = "created"
    AGENT_REPLIED = "agent_replied"
    WAITING_ON_YOU = "waiting_on_you"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    CLOSED = "closed"
    AUTO_CLOSED = "auto_closed"
    REQUESTER_REPLIED = "requester_replied"
    ASSIGNED = "assigned"
    SLA_BREACHED = "sla_breached"

    @property
    def audience(self) -> str:
        if self in (NoticeKind.REQUESTER_REPLIED, NoticeKind.ASSIGNED, NoticeKind.SLA_BREACHED):
            return "staff"
        return "requester"


@dataclass(frozen=True)
class DeliveryInfo:
    """How one outgoing reply went, in words for agents."""

    channel: str  # e.g. 客服消息 / 模板消息
    status: str  # e.g. 已发送 / 发送失败
    delivered: bool | None  # None while still pending
    detail: str = ""


class BaseBackend:
    """Subclass and name it in `TICKETS_NOTIFY_BACKEND`."""

    def reply_send(
        self, *, ticket: "Ticket", message: "TicketMessage", carries: NoticeKind | None = None
    ) -> str:
        """Send an agent's reply to the requester; return a ref for `delivery_status`.

        `carries`: the status notice this reply brings along (a reply that resolves the
        ticket carries the satisfaction question), sent after the answer, never before.
        """
        raise NotImplementedError

    def requester_notify(self, *, ticket: "Ticket", kind: NoticeKind, event_id: int) -> None:
        """Tell the requester about the change audited as TicketEvent `event_id`."""
        raise NotImplementedError

    def staff_alert(
        self,
        *,
        ticket: "Ticket",
        kind: NoticeKind,
        recipients: list[str],
        ref: str,
        text: str = "",
    ) -> None:
        """Alert staff; `recipients` are the agents' `notify_ref` values, `ref` the cause."""
        raise NotImplementedError

    def delivery_status(self, *, refs: list[str]) -> dict[str, DeliveryInfo]:
        return {}

    def ticket_changed(self, *, ticket: "Ticket") -> None:
        """The requester's tickets changed (created, status): drop what the channel cached."""
        return None

    def attachments(self, *, refs: list[str], request=None) -> dict[str, list[dict]]:
        """Files of the channel messages with these external refs: {ref: [{kind, url, ...}]}."""
        return {}

    def reply_window(self, *, ticket: "Ticket") -> dict | None:
        """The channel's reply window `{"open", "closes_at", "messages_left"}`; None: no limit."""
        return None


class LoggingBackend(BaseBackend):
    """Log every notice and deliver nothing: the default until a channel plugs in."""

    def reply_send(
        self, *, ticket: "Ticket", message: "TicketMessage", carries: NoticeKind | None = None
    ) -> str:
        logger.info("ticket %s reply %s: %s", ticket.number, message.pk, message.text)
        if carries is not None:
            logger.info("ticket %s notice %s (with reply %s)", ticket.number, carries, message.pk)
        return ""

    def requester_notify(self, *, ticket: "Ticket", kind: NoticeKind, event_id: int) -> None:
        logger.info("ticket %s notice %s (event %s)", ticket.number, kind, event_id)

    def staff_alert(
        self,
        *,
        ticket: "Ticket",
        kind: NoticeKind,
        recipients: list[str],
        ref: str,
        text: str = "",
    ) -> None:
        logger.info("ticket %s staff alert %s (%s) to %s", ticket.number, kind, ref, recipients)


# What the LocmemBackend received, oldest first (tests read and clear it):
# (ticket number, kind, detail) with kind "reply" for replies.
outbox: list[tuple[str, str, str]] = []


class LocmemBackend(BaseBackend):
    """Keep everything in `tickets.notify.outbox`; replies count as delivered."""

    def reply_send(
        self, *, ticket: "Ticket", message: "TicketMessage", carries: NoticeKind | None = None
    ) -> str:
        outbox.append((ticket.number, "reply", message.text))
        ref = f"locmem:{len(outbox)}"
        if carries is not None:
            outbox.append((ticket.number, str(carries), ""))
        return ref

    def requester_notify(self, *, ticket: "Ticket", kind: NoticeKind, event_id: int) -> None:
        outbox.append((ticket.number, str(kind), ""))

    def staff_alert(
        self,
        *,
        ticket: "Ticket",
        kind: NoticeKind,
        recipients: list[str],
        ref: str,
        text: str = "",
    ) -> None:
        outbox.append((ticket.number, str(kind), ",".join(recipients)))

    def delivery_status(self, *, refs: list[str]) -> dict[str, DeliveryInfo]:
        return {ref: DeliveryInfo("本地", "已送达", True) for ref in refs if ref}


def get_backend() -> BaseBackend:
    path = getattr(settings, "TICKETS_NOTIFY_BACKEND", DEFAULT_BACKEND)
    return import_string(path)()


def source_ref(source: "TicketEvent | TicketMessage") -> str:
    """Name the row that raised a notice, e.g. `ticketevent:12` or `ticketmessage:34`."""
    return f"{source._meta.model_name}:{source.pk}"


def notice_on_commit(*, ticket: "Ticket", kind: NoticeKind, event_id: int) -> None:
    """Tell the requester about event `event_id` once the surrounding transaction commits."""

    def send() -> None:
        get_backend().requester_notify(ticket=ticket, kind=kind, event_id=event_id)

    # robust: a failing channel must not turn a committed change into an error.
    transaction.on_commit(send, robust=True)


def alert_on_commit(
    *, ticket: "Ticket", kind: NoticeKind, recipients: list[str], ref: str, text: str = ""
) -> None:
    """Alert staff about `ref` once the surrounding transaction commits (nobody: a no-op)."""
    recipients = [r for r in recipients if r]
    if not recipients:
        return

    def send() -> None:
        get_backend().staff_alert(
            ticket=ticket, kind=kind, recipients=recipients, ref=ref, text=text
        )

    transaction.on_commit(send, robust=True)


def changed_now_and_on_commit(*, ticket: "Ticket") -> None:
    """Tell the channel a ticket changed: now (so no reader caches the old state while the
    change is in flight) and again after commit (so none caches it from just before)."""
    get_backend().ticket_changed(ticket=ticket)
    transaction.on_commit(lambda: get_backend().ticket_changed(ticket=ticket), robust=True)
