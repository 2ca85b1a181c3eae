"""The one error of the WeChat API client, and the error codes the project reacts to."""

import enum


class Errcode(enum.IntEnum):
    """WeChat `errcode` values the project reacts to."""

    SYSTEM_BUSY = -1
    INVALID_CREDENTIAL = 40001
    INVALID_ACCESS_TOKEN = 40014
    EXPIRED_ACCESS_TOKEN = 42001
    USER_UNSUBSCRIBED = 43004
    # bizsend: the follower did not accept this subscribe template (or used up a one-time grant).
    SUBSCRIBE_REFUSED = 43101
    OUT_OF_API_FREQ_LIMIT = 45009
    # Customer-service message more than 48 hours after the follower's last message.
    OUTSIDE_REPLY_WINDOW = 45015
    # Customer-service message quota: at most 5 within 48 hours of the follower's last message.
    OUT_OF_CUSTOMER_SERVICE_QUOTA = 45047


TOKEN_ERRORS = frozenset(
    {Errcode.INVALID_CREDENTIAL, Errcode.INVALID_ACCESS_TOKEN, Errcode.EXPIRED_ACCESS_TOKEN}
)
TRANSIENT_ERRORS = frozenset({Errcode.OUT_OF_API_FREQ_LIMIT, Errcode.SYSTEM_BUSY})


class WeChatApiError(Exception):
    """A call to WeChat failed; errcode is None for network, HTTP and malformed answers."""

    def __init__(self, errcode: int | None, errmsg: str) -> None:
        super().__init__(f"{errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg

    @property
    def transient(self) -> bool:
        """Worth retrying later: the network, WeChat busy, or the frequency limit."""
        return self.errcode is None or self.errcode in TRANSIENT_ERRORS


class MediaTooLarge(Exception):
    """A media download went over the caller's size cap (declared or while reading)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail
