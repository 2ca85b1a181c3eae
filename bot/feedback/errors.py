"""The feedback app's refusals: one stable code each."""

from enum import StrEnum
from http import HTTPStatus

from support.errors import DomainError


class FeedbackErrorCode(StrEnum):
    INVALID_STATUS = "invalid_status"
    NOT_A_SUPERVISOR = "not_a_supervisor"


class FeedbackError(DomainError):
    code: FeedbackErrorCode

    def __init__(self, code: FeedbackErrorCode, message: str = "", *, field: str = "") -> None:
        status = (
            HTTPStatus.FORBIDDEN
            if code == FeedbackErrorCode.NOT_A_SUPERVISOR
            else HTTPStatus.BAD_REQUEST
        )
        super().__init__(code, message, status=status, field=field)
