"""The help desk's error vocabulary: one stable code per refusal."""

from enum import StrEnum


class TicketErrorCode(StrEnum):
    INVALID_TRANSITION = "invalid_transition"
    TICKET_CLOSED = "ticket_closed"
    OTHER_TICKET_ACTIVE = "other_ticket_active"
    NOT_AN_AGENT = "not_an_agent"
    NOT_IN_QUEUE = "not_in_queue"
    INVALID_RATING = "invalid_rating"
    NOT_RATEABLE = "not_rateable"
    INVALID_MERGE = "invalid_merge"
    EMPTY_TEXT = "empty_text"
    INVALID_PRIORITY = "invalid_priority"
    NO_QUEUE = "no_queue"
    REVERIFY_UNAVAILABLE = "reverify_unavailable"


class TicketError(Exception):
    """A refused help-desk operation; `code` is stable, the message is for people."""

    def __init__(self, code: TicketErrorCode, message: str = "") -> None:
        super().__init__(message or code.value)
        self.code = code
        self.message = message or code.value
