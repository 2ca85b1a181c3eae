"""The help desk's error vocabulary: one stable code per refusal."""

from enum import StrEnum
from http import HTTPStatus

from support.errors import DomainError


class TicketErrorCode(StrEnum):
    INVALID_TRANSITION = "invalid_transition"
    TICKET_CLOSED = "ticket_closed"
    OTHER_TICKET_ACTIVE = "other_ticket_active"
    NOT_AN_AGENT = "not_an_agent"
    NOT_IN_QUEUE = "not_in_queue"
    UNKNOWN_ASSIGNEE = "unknown_assignee"
    INVALID_ASSIGNEE = "invalid_assignee"
    INVALID_RATING = "invalid_rating"
    NOT_RATEABLE = "not_rateable"
    INVALID_MERGE = "invalid_merge"
    EMPTY_TEXT = "empty_text"
    INVALID_PRIORITY = "invalid_priority"
    NO_QUEUE = "no_queue"
    REVERIFY_UNAVAILABLE = "reverify_unavailable"
    PLACEHOLDER_UNFILLED = "placeholder_unfilled"

    @property
    def status(self) -> int:
        """The API's answer: a request naming nobody is bad input, the rest conflict with state."""
        if self in (
            TicketErrorCode.UNKNOWN_ASSIGNEE,
            TicketErrorCode.INVALID_ASSIGNEE,
            TicketErrorCode.PLACEHOLDER_UNFILLED,
        ):
            return HTTPStatus.BAD_REQUEST
        return HTTPStatus.CONFLICT


class TicketError(DomainError):
    """A refused help-desk operation; `code` is stable, the message is for people."""

    code: TicketErrorCode

    def __init__(self, code: TicketErrorCode, message: str = "", *, field: str = "") -> None:
        super().__init__(code, message, status=code.status, field=field)
