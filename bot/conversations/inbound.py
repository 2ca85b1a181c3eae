"""One message as a channel hands it to the dialog, whatever channel it came through."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.conversations.models import Message

_TYPES = frozenset(choice.value for choice in Message.Type)


@dataclass(frozen=True)
class ReplayGuard:
    """What a signed request may carry once: its signature's inputs and its body.

    A channel whose signature does not cover the body (WeChat in plaintext mode) names
    the request by `key` (e.g. its timestamp and nonce) and the body by `body_digest`;
    the dedup claim remembers the pair for `seconds`, so a second body under the same
    signed request is refused while a true retry (the same body again) is not.
    """

    key: str
    body_digest: str
    seconds: int


@dataclass(frozen=True)
class InboundMessage:
    """A parsed, verified delivery; `dedup_key` is the channel's identity of it.

    `fields`: every field the channel received (delivery reports read their own).
    """

    openid: str
    msg_type: str
    dedup_key: str
    text: str = ""
    media_id: str = ""
    pic_url: str = ""
    recognition: str = ""
    event: str = ""
    event_key: str = ""
    msg_id: str = ""
    raw: str = ""
    sent_at: datetime | None = None
    fields: dict[str, str] = field(default_factory=dict, compare=False, repr=False)
    replay_guard: ReplayGuard | None = field(default=None, compare=False, repr=False)

    @property
    def free_text(self) -> str | None:
        """The text the NLU reads (typed, or a voice message's recognition); else None."""
        if self.msg_type == Message.Type.TEXT:
            return self.text
        if self.msg_type == Message.Type.VOICE:
            return self.recognition if self.recognition.strip() else None
        return None

    def row_values(self) -> dict:
        """The inbound Message row's fields (its follower aside)."""
        return {
            "direction": Message.Direction.IN,
            "msg_type": self.msg_type if self.msg_type in _TYPES else Message.Type.UNKNOWN,
            "text": self.text,
            "media_id": self.media_id[:128],
            "pic_url": self.pic_url[:1024],
            "recognition": self.recognition,
            "event": self.event[:40],
            "event_key": self.event_key[:256],
            "wechat_msg_id": self.msg_id[:64],
            "dedup_key": self.dedup_key,
            "raw": self.raw,
            "wechat_created_at": self.sent_at,
        }
