"""Small helpers shared by the help-desk tests."""

from datetime import datetime
from zoneinfo import ZoneInfo

SH = ZoneInfo("Asia/Shanghai")


def at(*args) -> datetime:
    """A Shanghai-local aware datetime."""
    return datetime(*args, tzinfo=SH)


def fake_reverify(ticket):
    """A TICKETS_INVOICE_REVERIFY hook for tests: every invoice now verifies."""
    return [{**inv, "result": "一致"} for inv in ticket.invoices]


class RecordingBackend:
    """A TICKETS_NOTIFY_BACKEND for seam tests: every call with its arguments, oldest first."""

    calls: list[tuple[str, dict]] = []

    def reply_send(self, **kwargs) -> str:
        self.calls.append(("reply_send", kwargs))
        return f"rec:{kwargs['message'].pk}"

    def requester_notify(self, **kwargs) -> None:
        self.calls.append(("requester_notify", kwargs))

    def staff_alert(self, **kwargs) -> None:
        self.calls.append(("staff_alert", kwargs))

    def delivery_status(self, *, refs):
        return {}

    def ticket_changed(self, *, ticket) -> None:
        return None
