"""The delivery seam: the help desk talks to people through the backend in `TICKETS_NOTIFY_BACKEND`.

Like Django's `EMAIL_BACKEND`: the help desk knows no channel; the WeChat side
provides a backend that pushes to the follower and alerts staff. Three calls:

- `reply_send`: an agent's reply, called inside the service's transaction so the
  channel can record its outgoing message atomically; returns a delivery ref.
- `requester_notify` / `staff_alert`: status notices, handed over after commit
  (`notice_on_commit`), so nothing is announced for a rolled-back change.
- `delivery_status`: how the replies with these refs went (shown to agents).

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
    from tickets.models import Ticket

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

    def reply_send(self, *, ticket: "Ticket", text: str) -> str:
        """Send an agent's reply to the requester; return a ref for `delivery_status`."""
        raise NotImplementedError

    def requester_notify(self, *, ticket: "Ticket", kind: NoticeKind) -> None:
        raise NotImplementedError

    def staff_alert(
        self, *, ticket: "Ticket", kind: NoticeKind, recipients: list[str], text: str = ""
    ) -> None:
        """Alert staff; `recipients` are the agents' `notify_ref` values."""
        raise NotImplementedError

    def delivery_status(self, *, refs: list[str]) -> dict[str, DeliveryInfo]:
        return {}

    def ticket_changed(self, *, ticket: "Ticket") -> None:
        """The requester's tickets changed (created, status): drop what the channel cached."""
        return None


class LoggingBackend(BaseBackend):
    """Log every notice and deliver nothing: the default until a channel plugs in."""

    def reply_send(self, *, ticket: "Ticket", text: str) -> str:
        logger.info("ticket %s reply: %s", ticket.number, text)
        return ""

    def requester_notify(self, *, ticket: "Ticket", kind: NoticeKind) -> None:
        logger.info("ticket %s notice %s", ticket.number, kind)

    def staff_alert(
        self, *, ticket: "Ticket", kind: NoticeKind, recipients: list[str], text: str = ""
    ) -> None:
        logger.info("ticket %s staff alert %s to %s", ticket.number, kind, recipients)


# What the LocmemBackend received, oldest first (tests read and clear it):
# (ticket number, kind, detail) with kind "reply" for replies.
outbox: list[tuple[str, str, str]] = []


class LocmemBackend(BaseBackend):
    """Keep everything in `tickets.notify.outbox`; replies count as delivered."""

    def reply_send(self, *, ticket: "Ticket", text: str) -> str:
        outbox.append((ticket.number, "reply", text))
        return f"locmem:{len(outbox)}"

    def requester_notify(self, *, ticket: "Ticket", kind: NoticeKind) -> None:
        outbox.append((ticket.number, str(kind), ""))

    def staff_alert(
        self, *, ticket: "Ticket", kind: NoticeKind, recipients: list[str], text: str = ""
    ) -> None:
        outbox.append((ticket.number, str(kind), ",".join(recipients)))

    def delivery_status(self, *, refs: list[str]) -> dict[str, DeliveryInfo]:
        return {ref: DeliveryInfo("本地", "已送达", True) for ref in refs if ref}


def get_backend() -> BaseBackend:
    path = getattr(settings, "TICKETS_NOTIFY_BACKEND", DEFAULT_BACKEND)
    return import_string(path)()


def notice_on_commit(*, ticket: "Ticket", kind: NoticeKind) -> None:
    """Tell the requester once the surrounding transaction commits."""

    def send() -> None:
        get_backend().requester_notify(ticket=ticket, kind=kind)

    # robust: a failing channel must not turn a committed change into an error.
    transaction.on_commit(send, robust=True)


def alert_on_commit(
    *, ticket: "Ticket", kind: NoticeKind, recipients: list[str], text: str = ""
) -> None:
    """Alert staff once the surrounding transaction commits (nobody to alert: a no-op)."""
    recipients = [ref for ref in recipients if ref]
    if not recipients:
        return

    def send() -> None:
        get_backend().staff_alert(ticket=ticket, kind=kind, recipients=recipients, text=text)

    transaction.on_commit(send, robust=True)


def changed_now_and_on_commit(*, ticket: "Ticket") -> None:
    """Tell the channel a ticket changed: now (so no reader caches the old state while the
    change is in flight) and again after commit (so none caches it from just before)."""
    get_backend().ticket_changed(ticket=ticket)
    transaction.on_commit(lambda: get_backend().ticket_changed(ticket=ticket), robust=True)
