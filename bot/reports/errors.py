"""The reports' refusals: one stable code each (the API answers them in the one format)."""

from enum import StrEnum
from http import HTTPStatus

from support.errors import DomainError


class ReportErrorCode(StrEnum):
    INVALID_DATE = "invalid_date"
    RANGE_REVERSED = "range_reversed"
    RANGE_TOO_LONG = "range_too_long"
    UNKNOWN_QUEUE = "unknown_queue"
    UNKNOWN_ENTRY = "unknown_entry"
    NO_TEXTS = "no_texts"
    INVALID_ENTRY = "invalid_entry"
    UNKNOWN_FIGURE = "unknown_figure"


class ReportError(DomainError):
    code: ReportErrorCode

    def __init__(self, code: ReportErrorCode, message: str = "", *, field: str = "") -> None:
        status = HTTPStatus.NOT_FOUND if code == ReportErrorCode.UNKNOWN_FIGURE else None
        super().__init__(code, message, status=status, field=field)
