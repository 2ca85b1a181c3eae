"""One conversation state per follower, and the turn the hooks read and act on.

Like WeRoBot's session store: one value per follower in the shared cache (any web
process can continue a conversation) holding every part of the dialog's memory —
the invoice fields being collected, a pending offer of a person, the NLU's topic
and offered choices. Each part keeps its own deadline inside the value, so the
parts keep their own lifetimes under one key. The state is read in the round trip
of the delivery's dedup claim and written once, with the dedup outcome, after the
turn: a turn costs two cache round trips whatever the hooks do with the state.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from bot.conversations.inbound import InboundMessage
from bot.conversations.keys import follower_key
from bot.conversations.models import Message
from bot.nlu.context import ConversationState as NluContext
from bot.nlu.context import context_from_cached, context_ttl
from bot.nlu.services import NluReply

# After the bot offered a person, one more miss escalates (within this time).
OFFER_TTL_SECONDS = 30 * 60
# The answer a rating was asked about (bot.dialog.hooks.feedback); also: ask once per this.
FEEDBACK_TTL_SECONDS = 30 * 60


def _invoice_ttl() -> int:
    return int(getattr(settings, "INVOICE_DIALOG_TTL_SECONDS", 600))


def state_key(openid: str) -> str:
    return follower_key(openid, "state")


@dataclass
class ConversationState:
    """The dialog's memory of one follower; `changed` when the turn must write it back."""

    invoice: dict | None = None
    offer: bool = False
    nlu: dict | None = None
    feedback: dict | None = None
    deadlines: dict[str, float] = field(default_factory=dict)
    changed: bool = False

    @classmethod
    def from_cached(cls, value: Any, *, now: float | None = None) -> ConversationState:
        if not isinstance(value, dict):
            return cls()
        now = time.time() if now is None else now
        deadlines = {k: v for k, v in (value.get("until") or {}).items() if v > now}
        return cls(
            invoice=value.get("invoice") if "invoice" in deadlines else None,
            offer=bool(value.get("offer")) and "offer" in deadlines,
            nlu=value.get("nlu") if "nlu" in deadlines else None,
            feedback=value.get("feedback") if "feedback" in deadlines else None,
            deadlines=deadlines,
        )

    def cached(self) -> dict | None:
        """The value to store; None when every part is empty (the key is deleted)."""
        value: dict[str, Any] = {"until": {}}
        for part in ("invoice", "offer", "nlu", "feedback"):
            data = getattr(self, part)
            if data:
                value[part] = data
                value["until"][part] = self.deadlines[part]
        return value if value["until"] else None

    def ttl(self) -> int:
        left = max(self.deadlines.values(), default=0) - time.time()
        return max(int(left) + 1, 1)

    def _set(self, part: str, value: Any, seconds: int) -> None:
        setattr(self, part, value)
        if value:
            self.deadlines[part] = time.time() + seconds
        else:
            self.deadlines.pop(part, None)
        self.changed = True

    # -- the parts --------------------------------------------------------------------
    def invoice_set(self, data: dict | None) -> None:
        self._set("invoice", data, _invoice_ttl())

    def offer_set(self, offered: bool) -> None:
        if offered or self.offer:
            self._set("offer", offered, OFFER_TTL_SECONDS)

    def feedback_set(self, data: dict | None) -> None:
        self._set("feedback", data, FEEDBACK_TTL_SECONDS)

    def nlu_context(self) -> NluContext:
        return context_from_cached(self.nlu)

    def nlu_apply(self, *, context: NluContext | None, forget: bool) -> None:
        """Keep what understanding one message did to the NLU's memory."""
        if forget:
            self._set("nlu", None, 0)
        elif context is not None:
            self._set("nlu", context.as_dict(), context_ttl())


@dataclass
class Turn:
    """One inbound message on its way through the router.

    `message`: the stored row (None until stored; hooks that act run after that);
    `helpdesk_quiet`: the help desk knows this follower has nothing open (None:
    unknown); `understood`: the NLU's reply, once it ran (it runs at most once).
    """

    inbound: InboundMessage
    state: ConversationState
    kb_version: str | None = None
    helpdesk_quiet: bool | None = None
    message: Message | None = None
    understood: NluReply | None = None
    photo: Any = None  # bot.dialog.hooks.invoices.PhotoRead of an image, read before storing

    @property
    def openid(self) -> str:
        return self.inbound.openid

    @property
    def text(self) -> str | None:
        return self.inbound.free_text
