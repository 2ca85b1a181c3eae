"""Pinyin typed instead of characters: `dianzi fapiao xiazai`, `hongchong 怎么弄`.

When an input method slips, a message arrives as toneless pinyin, with or
without spaces, alone or mixed with characters. Each run of Latin letters is
split into syllables and the syllables into the knowledge base's words, by
their pinyin keys (`phonetic.pinyin_key`): 电子 发票 下载. A run is only
rewritten when all of it is pinyin and most of it reads as KB words, so
English (`pdf`, `hello`, `can you help`) and names stay as they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache, lru_cache
from itertools import pairwise

from bot.nlu.phonetic import char_pinyin, other_readings

# Letters and the separators a typist puts between syllables (space, apostrophe).
LATIN_RUN_RE = re.compile(r"[a-z]+(?:[ '’][a-z]+)*")
MAX_WORD_SYLLABLES = 6
# A syllable that no KB word covers costs this much more than a word: the reading
# with the fewest pieces, preferring KB words, wins (xian is 现, xi'an two syllables).
_WORD_COST = 1.0
_SYLLABLE_COST = 2.5
# At least this share of a run's syllables must lie in KB words of two or more syllables.
MIN_WORD_COVERAGE = 0.5
# A long spaced run of syllables is pinyin whatever it spells (English words rarely are
# all pinyin syllables, four in a row even less): a quarter in KB words is enough.
LONG_RUN_TOKENS, LONG_RUN_SYLLABLES, LONG_RUN_COVERAGE = 4, 6, 0.2


@cache
def syllables() -> frozenset[str]:
    """Every toneless pinyin syllable (ü typed as v), from pypinyin's character table."""
    from bot.nlu.phonetic import all_syllables

    # Interjection readings (m, n, ng, hm) would let English words pass as pinyin.
    return frozenset(
        s for s in all_syllables() if s.isascii() and s.isalpha() and any(v in s for v in "aeiouv")
    )


# At most this many extra spellings per word (a word of several polyphones has many).
MAX_OTHER_KEYS = 8


def _other_keys(word: str) -> list[str]:
    """The word's spellings with other readings of its polyphonic characters."""
    keys = [""]
    changed = [False]
    for ch in word:
        options = (char_pinyin(ch), *other_readings(ch))
        keys, changed = (
            [k + o for k in keys for o in options],
            [c or n > 0 for c in changed for n in range(len(options))],
        )
        if len(keys) > 4 * MAX_OTHER_KEYS:
            break
    return [k for k, c in zip(keys, changed, strict=True) if c][:MAX_OTHER_KEYS]


class PinyinReader:
    """Rewrite pinyin runs of a message as the KB words they spell."""

    def __init__(self, words: Iterable[tuple[str, int]]):
        """`words`: (word, weight) pairs of the vocabulary; the heavier of two homophones wins."""
        self._by_key: dict[str, tuple[int, str]] = {}  # "dianzi" → (weight, "电子")
        self._single: dict[str, tuple[int, str]] = {}  # "cha" → (weight, "查")
        words_seen: list[tuple[str, int]] = []
        for word, weight in words:
            if not word or len(word) > MAX_WORD_SYLLABLES:
                continue
            parts = [char_pinyin(ch) for ch in word]
            if not all(parts):
                continue
            if len(word) > 1:
                words_seen.append((word, weight))
            table = self._single if len(word) == 1 else self._by_key
            key = "".join(parts)
            if weight > table.get(key, (-1, ""))[0]:
                table[key] = (weight, word)
        # A polyphonic character is also typed by its other readings: 校验码 is spelled
        # jiaoyanma as often as xiaoyanma. Those spellings never displace a word's
        # first reading, nor another word's (the first reading is what most people type).
        for word, weight in words_seen:
            for key in _other_keys(word):
                if key not in self._by_key:
                    self._by_key[key] = (weight, word)
        # The keys as a trie of letters: reading a run walks it once per position.
        self._trie: dict[str, dict] = {}
        for key, (_weight, word) in self._by_key.items():
            node = self._trie
            for letter in key:
                node = node.setdefault(letter, {})
            node[""] = word

    @property
    def size(self) -> int:
        return len(self._by_key)

    def read(self, text: str) -> str:
        """Return text with its pinyin runs replaced by characters."""
        if not self._by_key or not any("a" <= ch <= "z" for ch in text):
            return text
        return LATIN_RUN_RE.sub(self._run, text)

    def _run(self, match: re.Match[str]) -> str:
        run = match.group(0)
        tokens = re.split(r"[ '’]", run)
        out: list[str] = []
        pending: list[str] = []
        for token in [*tokens, None]:
            if token is not None and _syllabify(token) is not None:
                pending.append(token)
                continue
            if pending:
                out.append(self._convert(pending) or " ".join(pending))
                pending = []
            if token is not None:
                out.append(token)
        # Converted pieces join without spaces (Chinese has none); kept words keep theirs.
        joined = ""
        for piece in out:
            if joined and (piece[0].isascii() or joined[-1].isascii()):
                joined += " "
            joined += piece
        return joined

    def _convert(self, tokens: list[str]) -> str | None:
        """Return the characters a sequence of pinyin tokens spells, or None."""
        letters = "".join(tokens)
        # Typed boundaries (spaces) must stay syllable boundaries.
        n = len(letters)
        cut = [False] * (n + 1)
        pos = 0
        for token in tokens:
            pos += len(token)
            cut[pos] = True
        best: list[tuple[float, int, int, str, int] | None] = [None] * (n + 1)
        best[0] = (0.0, 0, -1, "", 0)  # cost, words' syllables, previous, piece, syllables
        syl = syllables()
        for i in range(n):
            if best[i] is None:
                continue
            cost, covered = best[i][0], best[i][1]
            # A KB word: its key must end on a syllable boundary compatible with the cuts.
            node = self._trie.get(letters[i])
            j = i + 1
            while node is not None:
                word = node.get("")
                if word is not None and _respects(i, j, cut, letters):
                    cand = (cost + _WORD_COST, covered + len(word), i, word, len(word))
                    if best[j] is None or cand[:1] < best[j][:1]:
                        best[j] = cand
                if j >= n:
                    break
                node = node.get(letters[j])
                j += 1
            for j in range(i + 1, min(n, i + 6) + 1):
                if cut[j - 1] and j - 1 > i:
                    break  # a syllable never spans a typed boundary
                piece = letters[i:j]
                if piece not in syl:
                    continue
                char = self._single.get(piece, (0, ""))[1]
                if not char:
                    continue
                cand = (cost + _SYLLABLE_COST, covered, i, char, 1)
                if best[j] is None or cand[:1] < best[j][:1]:
                    best[j] = cand
        end = best[n]
        if end is None:
            return None
        pieces: list[str] = []
        total_syllables = 0
        j = n
        while j > 0:
            node = best[j]
            assert node is not None
            pieces.append(node[3])
            total_syllables += node[4]
            j = node[2]
        long_run = len(tokens) >= LONG_RUN_TOKENS and total_syllables >= LONG_RUN_SYLLABLES
        coverage = LONG_RUN_COVERAGE if long_run else MIN_WORD_COVERAGE
        if total_syllables < 2 or end[1] < coverage * total_syllables:
            return None
        return "".join(reversed(pieces))


def _respects(i: int, j: int, cut: list[bool], letters: str) -> bool:
    # A word may span typed boundaries only at its own syllable boundaries: each piece
    # between the cuts inside it must be pinyin by itself (dian zi, not di anzi).
    inner = [c for c in range(i + 1, j) if cut[c]]
    if not inner:
        return True
    bounds = [i, *inner, j]
    return all(_syllabify(letters[a:b]) is not None for a, b in pairwise(bounds))


@lru_cache(maxsize=4096)
def _syllabify_cached(token: str) -> tuple[str, ...] | None:
    syl = syllables()
    n = len(token)
    best: list[tuple[str, ...] | None] = [None] * (n + 1)
    best[0] = ()
    for i in range(n):
        if best[i] is None:
            continue
        for j in range(i + 1, min(n, i + 6) + 1):
            if token[i:j] in syl:
                cand = (*best[i], token[i:j])
                if best[j] is None or len(cand) < len(best[j]):
                    best[j] = cand
    return best[n]


def _syllabify(token: str) -> tuple[str, ...] | None:
    """Split a run of letters into pinyin syllables (fewest pieces), None if it is not pinyin."""
    if not token or len(token) > 60:
        return None
    return _syllabify_cached(token)
