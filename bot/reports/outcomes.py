"""What a bot turn was, read from its stored reply: the reply texts of the live KB.

The webhook stores a whole turn in one statement (the follower's message with the
understood intent, and the reply), so the reports learn what the bot did from what it
said: an FAQ entry's answer (with its options, an incident notice or a rating prompt
after it), the clarification, the out-of-scope reply, or one of the fallbacks. The
texts are those of the knowledge base when the figures are built: a day's rollup keeps
what its texts were then (docs/reports.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.template.loader import render_to_string

from bot.nlu.loader import current_index
from bot.nlu.models import ReplyTemplate
from bot.nlu.vocabulary import Intent
from bot.reports.definitions import REPLY_PREFIX_CHARS, TurnOutcome

_KEY_CHARS = 12
# The dialog's own fixed replies that mean "nothing of substance could be said".
FALLBACK_TEMPLATES = (
    "bot/replies/error.txt",
    "bot/replies/voice_unrecognised.txt",
    "bot/replies/unsupported.txt",
)
RATING_TEMPLATES = ("bot/replies/feedback_useful.txt", "bot/replies/feedback_useless.txt")
FALLBACK_REPLY_KEYS = (
    ReplyTemplate.Key.OFFER_HUMAN,
    ReplyTemplate.Key.STILL_UNSOLVED,
    ReplyTemplate.Key.VOICE_UNRECOGNISED,
)


@dataclass(frozen=True)
class Known:
    text: str
    outcome: TurnOutcome
    entry: str = ""


class TurnClassifier:
    """Tell a reply's outcome (and the entry that answered) from its first characters."""

    def __init__(self, known: list[Known]) -> None:
        self._by_key: dict[str, list[Known]] = {}
        self._short: list[Known] = []
        # Longest first: an answer that starts with another text is the longer one.
        for item in sorted(known, key=lambda k: -len(k.text)):
            text = item.text[:REPLY_PREFIX_CHARS]
            if not text:
                continue
            item = Known(text, item.outcome, item.entry)
            if len(text) < _KEY_CHARS:
                self._short.append(item)
            else:
                self._by_key.setdefault(text[:_KEY_CHARS], []).append(item)

    def classify(self, reply: str | None) -> tuple[TurnOutcome, str]:
        """(outcome, entry key or "") of a reply text (its first characters are enough)."""
        if not reply:
            return TurnOutcome.OTHER, ""
        for item in self._by_key.get(reply[:_KEY_CHARS], ()):
            if reply.startswith(item.text):
                return item.outcome, item.entry
        for item in self._short:
            if reply.startswith(item.text):
                return item.outcome, item.entry
        return TurnOutcome.OTHER, ""

    @classmethod
    def from_live_kb(cls) -> TurnClassifier:
        """The classifier of the knowledge base and templates as they are now."""
        index = current_index()
        known = [
            Known(
                e.answer,
                TurnOutcome.OUT_OF_SCOPE if e.intent == Intent.OOS else TurnOutcome.ANSWER,
                e.key,
            )
            for e in index.entries
        ]
        replies = index.replies
        if replies.get(ReplyTemplate.Key.OOS):
            known.append(Known(replies[ReplyTemplate.Key.OOS], TurnOutcome.OUT_OF_SCOPE))
        for key in FALLBACK_REPLY_KEYS:
            if replies.get(key):
                known.append(Known(replies[key], TurnOutcome.FALLBACK))
        clarify = replies.get(ReplyTemplate.Key.CLARIFY, "")
        if clarify:
            known.append(Known(clarify.split("{options}")[0], TurnOutcome.CLARIFY))
        for template in FALLBACK_TEMPLATES:
            known.append(Known(render_to_string(template).strip(), TurnOutcome.FALLBACK))
        for template in RATING_TEMPLATES:
            known.append(Known(render_to_string(template).strip(), TurnOutcome.RATING))
        return cls(known)
