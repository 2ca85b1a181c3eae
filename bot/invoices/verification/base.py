"""The interface every verification backend implements, and what it is given and returns."""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import ClassVar

from bot.invoices.models import Result


@dataclass(frozen=True)
class VerifyRequest:
    """One invoice to verify, already checked by the rules (date present, extra field known)."""

    invoice_code: str  # "" for 数电
    invoice_number: str
    issue_date: datetime.date
    kind: str
    check_code: str = ""  # last 6 digits
    amount: Decimal | None = None  # the amount the kind needs (excluding tax, or the total)
    amount_kind: str | None = None  # "excluding_tax" | "total" | None (as the kind needs)


@dataclass(frozen=True)
class VerifyResult:
    """A normalised answer; `details` carries what the backend knows (names, amounts, status)."""

    result: Result
    backend: str
    details: dict = field(default_factory=dict)
    error: str = ""


class VerificationBackend:
    """Verify one invoice. Never raises for upstream trouble: returns UPSTREAM_ERROR instead."""

    name: ClassVar[str] = ""
    # Local backends answer in milliseconds, so the dialog can answer in the passive reply.
    is_local: ClassVar[bool] = False

    def verify(self, request: VerifyRequest) -> VerifyResult:
        raise NotImplementedError
