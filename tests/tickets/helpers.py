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
