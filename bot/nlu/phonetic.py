"""Toneless pinyin keys and homophone repair.

Users type with pinyin input methods, so their typos are mostly homophones:
发漂 for 发票, 查不倒 for 查不到. Before matching, any run of 2–4 Chinese
characters whose pinyin equals that of a knowledge-base word, but which is
not itself a common word, is replaced by the KB word.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable

from pypinyin.pinyin_dict import pinyin_dict

_pinyin_cache: dict[str, str] = {}
# A run found in jieba's dictionary at least this often is a real word, not a typo.
COMMON_WORD_FREQ = 20
MAX_WINDOW = 4
# A run starting with one of these is a function word plus the next word (结果是空的:
# 是空 is not a typo of 失控); an input method does not put them in a typo.
FUNCTION_CHARS = frozenset("是的了不也都就还又和与而我你他她它这那吗呢吧啊")


def _toneless(syllable: str) -> str:
    decomposed = unicodedata.normalize("NFD", syllable.replace("ü", "v"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def char_pinyin(ch: str) -> str:
    """Return the first toneless reading of a Chinese character, '' for others."""
    py = _pinyin_cache.get(ch)
    if py is None:
        reading = pinyin_dict.get(ord(ch)) if len(ch) == 1 else None
        py = _toneless(reading.split(",")[0]) if reading else ""
        _pinyin_cache[ch] = py
    return py


def pinyin_key(word: str) -> str:
    """Return the space-joined toneless pinyin of an all-Chinese word, else ''."""
    parts = [char_pinyin(ch) for ch in word]
    return " ".join(parts) if parts and all(parts) else ""


class HomophoneRepairer:
    """Replace homophone typos of known vocabulary words in a text."""

    def __init__(
        self,
        vocabulary: Iterable[str],
        is_common: Callable[[str], bool],
        spans: Callable[[str], Iterable[tuple[str, int, int]]] | None = None,
    ):
        self._by_key: dict[str, str] = {}
        self._firsts: set[str] = set()
        vocab = set(vocabulary)
        self._vocab = vocab
        for word in sorted(vocab):
            if not 2 <= len(word) <= MAX_WINDOW:
                continue
            key = pinyin_key(word)
            if key:
                # First writer wins for homophone KB words; sorted for determinism.
                self._by_key.setdefault(key, word)
                self._firsts.add(key.split(" ")[0])
        self._is_common = is_common
        self._spans = spans

    @property
    def size(self) -> int:
        return len(self._by_key)

    def repair(self, text: str) -> str:
        """Return text with homophone typos of vocabulary words corrected."""
        if not self._by_key:
            return text
        pys = [char_pinyin(ch) for ch in text]
        protected: list[tuple[int, int]] | None = None
        out: list[str] = []
        i, n = 0, len(text)
        while i < n:
            replaced = False
            if pys[i] and pys[i] in self._firsts:
                for k in range(min(MAX_WINDOW, n - i), 1, -1):
                    window = pys[i : i + k]
                    if not all(window):
                        continue
                    word = self._by_key.get(" ".join(window))
                    if word is None:
                        continue
                    original = text[i : i + k]
                    if original != word:
                        if original in self._vocab or self._is_common(original):
                            continue
                        if original[0] in FUNCTION_CHARS:
                            continue
                        if protected is None:
                            protected = self._protected(text)
                        # A typo never cuts through or sits inside a real word:
                        # 系统里显示 is not 系统离线示.
                        if any(
                            s < i + k and e > i and not (i <= s and e <= i + k)
                            for s, e in protected
                        ):
                            continue
                    out.append(word)
                    i += k
                    replaced = True
                    break
            if not replaced:
                out.append(text[i])
                i += 1
        return "".join(out)

    def _protected(self, text: str) -> list[tuple[int, int]]:
        if self._spans is None:
            return []
        # Without HMM, jieba yields multi-character tokens only for dictionary words.
        return [(start, end) for _word, start, end in self._spans(text) if end - start >= 2]
