"""Known platform messages, recognised when a user quotes them.

Users paste or retype what the verification platform, the e-tax bureau or the
invoicing software told them (超过该张发票当日查验次数, 未查询到您与该企业的
关联关系). Such a quote is strong evidence of the cause, wherever it stands in
the message. The table is the KB's keywords of kind `message`; a message is
found verbatim, or approximately (a retyped quote drops or swaps a character),
with punctuation ignored on both sides.
"""

from __future__ import annotations

import re

from rapidfuzz import fuzz

_NOT_CONTENT_RE = re.compile(r"[^0-9a-z\u4e00-\u9fff]+")
# A retyped quote must be at least this similar (rapidfuzz partial ratio, 0–100).
FUZZY_MIN_RATIO = 84.0
# Short messages are matched verbatim only: two characters off in six is another text.
FUZZY_MIN_CHARS = 7
# A quote shares at least this share of the message's character bigrams (the cheap
# prefilter before the edit distance).
MIN_SHARED_BIGRAMS = 0.5


def compact(text: str) -> str:
    """Return text without punctuation and spaces (the form messages are compared in)."""
    return _NOT_CONTENT_RE.sub("", text)


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)}


class MessageTable:
    """Find known messages in a text: verbatim, or retyped with small differences."""

    def __init__(self, messages: list[tuple[str, int]]):
        """`messages`: (text in compact canonical form, keyword position) pairs."""
        self._messages = [(text, pos, _bigrams(text)) for text, pos in messages if len(text) >= 2]
        self._by_bigram: dict[str, list[int]] = {}
        for n, (_text, _pos, grams) in enumerate(self._messages):
            for gram in grams:
                self._by_bigram.setdefault(gram, []).append(n)

    def __len__(self) -> int:
        return len(self._messages)

    def find(self, text: str) -> dict[int, float]:
        """Return {keyword position: strength} for the messages text quotes (1.0 verbatim)."""
        found: dict[int, float] = {}
        if not self._messages or not text:
            return found
        # Only messages sharing enough of their bigrams with the text are compared: a
        # verbatim quote shares all of them, a retyped one at least half.
        shared: dict[int, int] = {}
        by_bigram = self._by_bigram
        for gram in _bigrams(text):
            for n in by_bigram.get(gram, ()):
                shared[n] = shared.get(n, 0) + 1
        for n, count in shared.items():
            message, pos, grams = self._messages[n]
            if count == len(grams) and message in text:
                found[pos] = 1.0
            elif len(message) >= FUZZY_MIN_CHARS and count >= MIN_SHARED_BIGRAMS * len(grams):
                ratio = fuzz.partial_ratio(message, text, score_cutoff=FUZZY_MIN_RATIO)
                if ratio:
                    found[pos] = max(found.get(pos, 0.0), ratio / 100.0)
        return found
