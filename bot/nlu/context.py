"""Short-lived conversation memory in the shared cache, keyed by the follower's openid."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache

from bot.nlu.normalize import normalise

DEFAULT_TTL_SECONDS = 5 * 60

# Follow-ups that only make sense with the previous topic. These are matching
# patterns, not user-facing text.
STILL_FAILING_RE = re.compile(
    r"^(还是|仍然|依然|依旧)?(不行|不可以|没用|没有用|不管用|没效果|一样|查不到|失败|报错|不对)"
    r"|^(试|弄|照做|按你说的|照你说的).{0,6}(不行|没用|还是)"
    r"|还是(不行|没用|一样|查不到|失败|不对|报错)"
)
WHAT_NOW_RE = re.compile(
    r"^(那|那么|然后|所以)?(该)?(怎么办|怎么做|怎么解决|接下来呢|然后呢|下一步|那怎么弄|咋办)"
)
_NUMERALS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
_CHOICE_RE = re.compile(r"^(?:第)?([1-5一二两三四五])(?:个|项|条|号)?[.。!！,，]?$")


@dataclass
class Option:
    label: str
    entry: str | None = None  # answer this entry directly when chosen


@dataclass
class ConversationState:
    intent: str | None = None
    entry: str | None = None
    topic_text: str = ""
    options: list[Option] = field(default_factory=list)
    misses: int = 0

    def as_dict(self) -> dict[str, Any]:
        # By hand: dataclasses.asdict deep-copies recursively, several times slower, and
        # this runs for most messages.
        return {
            "intent": self.intent,
            "entry": self.entry,
            "topic_text": self.topic_text,
            "options": [{"label": o.label, "entry": o.entry} for o in self.options],
            "misses": self.misses,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConversationState:
        return cls(
            intent=data.get("intent"),
            entry=data.get("entry"),
            topic_text=data.get("topic_text", ""),
            options=[Option(**o) for o in data.get("options", [])],
            misses=int(data.get("misses", 0)),
        )


def _key(conversation_key: str) -> str:
    # Hash so that any openid (or test key) is a safe cache key.
    digest = hashlib.sha256(conversation_key.encode("utf-8", "replace")).hexdigest()[:32]
    return f"nlu:ctx:{digest}"


def context_cache_key(conversation_key: str) -> str:
    """The cache key of a conversation's memory (for callers that batch cache commands)."""
    return _key(conversation_key)


def context_ttl() -> int:
    return getattr(settings, "NLU_CONTEXT_TTL_SECONDS", DEFAULT_TTL_SECONDS)


def context_from_cached(data: Any) -> ConversationState:
    """The state from the cached value (absent or unreadable: a fresh conversation)."""
    return ConversationState.from_dict(data) if isinstance(data, dict) else ConversationState()


def context_load(conversation_key: str) -> ConversationState:
    return context_from_cached(cache.get(_key(conversation_key)))


def context_save(conversation_key: str, state: ConversationState) -> None:
    cache.set(_key(conversation_key), state.as_dict(), timeout=context_ttl())


def context_apply(
    conversation_key: str, *, context: ConversationState | None, forget: bool
) -> None:
    """Write what understanding one message did to the memory (see `Understood`)."""
    if forget:
        context_clear(conversation_key)
    elif context is not None:
        context_save(conversation_key, context)


def context_clear(conversation_key: str) -> None:
    cache.delete(_key(conversation_key))


def pick_option(state: ConversationState, normalised: str) -> Option | None:
    """Return the offered option the user chose, by number or by its label."""
    if not state.options or not normalised:
        return None
    text = normalised.strip(" .。!！?？,，")
    match = _CHOICE_RE.match(text)
    if match:
        token = match.group(1)
        number = int(token) if token.isdigit() else _NUMERALS[token]
        if 1 <= number <= len(state.options):
            return state.options[number - 1]
        return None
    for option in state.options:
        if normalise(option.label).strip(" .。!！?？,，") == text:
            return option
    return None


def is_still_failing(normalised: str) -> bool:
    return len(normalised) <= 12 and STILL_FAILING_RE.search(normalised) is not None


def is_what_now(normalised: str) -> bool:
    return len(normalised) <= 10 and WHAT_NOW_RE.search(normalised) is not None
