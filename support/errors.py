"""The base of every domain's refusals; `support.api` maps it to the one API error format."""

from enum import StrEnum
from http import HTTPStatus


class DomainError(Exception):
    """A refused operation of a domain service: a stable `code`, words for people.

    Each domain subclasses it with its own error-code enum (`tickets.services.TicketError`
    with `TicketErrorCode`). `status` is the HTTP status an API answers with; `field`
    names the input at fault, when there is one, so the API can point at it.
    """

    status: int = HTTPStatus.BAD_REQUEST

    def __init__(
        self, code: StrEnum, message: str = "", *, status: int | None = None, field: str = ""
    ) -> None:
        self.code = code
        self.message = message or str(code)
        if status is not None:
            self.status = status
        self.field = field
        super().__init__(self.message)

    def __reduce__(self):
        # Exception's default rebuilds from `args` (the message alone): keep code and all.
        return (self.__class__, (self.code, self.message), self.__dict__.copy())
