"""WeChat's reply window as WeChat counts it: 48 hours and 5 customer-service messages.

After the follower's last message an account may send 5 customer-service messages
within 48 hours (45015 outside the window, 45047 past the fifth). A new message
from the follower opens a fresh window and resets the count.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from bot.conversations.models import Follower
from bot.notices.channels import CS_WINDOW
from bot.notices.models import Notice

CS_MESSAGES_PER_WINDOW = 5


@dataclass(frozen=True)
class ReplyWindow:
    open: bool
    closes_at: datetime | None
    messages_left: int

    def as_json(self) -> dict:
        return {
            "open": self.open,
            "closes_at": self.closes_at.isoformat() if self.closes_at else None,
            "messages_left": self.messages_left,
        }


def reply_window_of(*, follower: Follower | None, now: datetime | None = None) -> ReplyWindow:
    """The follower's window now: open or not, when it closes, how many messages are left."""
    now = now or timezone.now()
    since = follower.last_interaction_at if follower is not None else None
    if since is None:
        return ReplyWindow(open=False, closes_at=None, messages_left=0)
    closes_at = since + CS_WINDOW
    # Sent as customer-service messages, or queued to go out as one (the window is open).
    sent = Notice.objects.filter(
        Q(channel=Notice.Channel.CUSTOMER_SERVICE, status__in=Notice.DONE_OK, sent_at__gte=since)
        | Q(status__in=Notice.OPEN_STATUSES, created_at__gte=since),
        follower=follower,
    ).count()
    refused = Notice.objects.filter(follower=follower, error_code=45047, claimed_at__gte=since)
    left = 0 if refused.exists() else max(0, CS_MESSAGES_PER_WINDOW - sent)
    is_open = now < closes_at and left > 0
    return ReplyWindow(
        open=is_open, closes_at=closes_at, messages_left=left if now < closes_at else 0
    )
