"""Toneless pinyin keys and homophone repair.

Users type with pinyin input methods, so their typos are mostly homophones:
发漂 for 发票, 查不倒 for 查不到, 树电票 for 数电票. Before matching, any run of
2–4 Chinese characters whose pinyin equals that of a knowledge-base word, but
which is not itself a common word, is replaced by the KB word. Words of three
or more characters also match near-homophones, the slips of a fuzzy-pinyin
input method (zh/z, ch/c, sh/s, n/l, -ng/-n: 离线开漂, 红字确认担).
"""

from __future__ import annotations

import importlib.util
import json
import unicodedata
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path

_pinyin_cache: dict[str, str] = {}
# A run found in jieba's dictionary at least this often is a real word, not a typo.
COMMON_WORD_FREQ = 20
MAX_WINDOW = 4
# Characters segmented on each side of a candidate typo to see the words around it.
PROTECT_CONTEXT = 6
# A run starting with one of these is a function word plus the next word (结果是空的:
# 是空 is not a typo of 失控); an input method does not put them in a typo.
FUNCTION_CHARS = frozenset("是的了不也都就还又和与而我你他她它这那吗呢吧啊嘛么呀哦")


def _toneless(syllable: str) -> str:
    # ü (precomposed with its tone mark or not) is typed v: lǜ → lv, nǚ → nv.
    decomposed = unicodedata.normalize("NFD", syllable).replace("u\u0308", "v")
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@cache
def _readings() -> tuple[dict[str, str], frozenset[str], dict[str, tuple[str, ...]]]:
    """Load pypinyin's character table: (first toneless reading per character, every
    toneless syllable of any reading, the other readings of polyphonic characters).

    Read from the package's JSON file directly: importing `pypinyin` itself loads its
    phrase dictionary too, some 50 MB a process would carry for nothing.
    """
    spec = importlib.util.find_spec("pypinyin")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("pypinyin is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "pinyin_dict.json"
    raw: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    first: dict[str, str] = {}
    others: dict[str, tuple[str, ...]] = {}
    syllables: set[str] = set()
    for codepoint, readings in raw.items():
        toneless = list(dict.fromkeys(_toneless(r) for r in readings.split(",")))
        first[chr(int(codepoint))] = toneless[0]
        if len(toneless) > 1:
            others[chr(int(codepoint))] = tuple(toneless[1:])
        syllables.update(toneless)
    return first, frozenset(syllables), others


def all_syllables() -> frozenset[str]:
    """Every toneless syllable of any reading of any character (ü written v)."""
    return _readings()[1]


def char_pinyin(ch: str) -> str:
    """Return the first toneless reading of a Chinese character, '' for others."""
    py = _pinyin_cache.get(ch)
    if py is None:
        py = _readings()[0].get(ch, "") if len(ch) == 1 else ""
        _pinyin_cache[ch] = py
    return py


def other_readings(ch: str) -> tuple[str, ...]:
    """The toneless readings of a polyphonic character besides its first (校: jiao)."""
    return _readings()[2].get(ch, ())


@cache  # a few hundred syllables
def fuzzy_syllable(syllable: str) -> str:
    """Return the syllable with the distinctions fuzzy-pinyin input ignores folded."""
    for retroflex in ("zh", "ch", "sh"):
        if syllable.startswith(retroflex):
            syllable = syllable[0] + syllable[2:]
            break
    if syllable.startswith("n"):
        syllable = "l" + syllable[1:]
    for nasal, plain in (("iang", "ian"), ("uang", "uan"), ("ang", "an"), ("eng", "en")):
        if syllable.endswith(nasal):
            return syllable[: -len(nasal)] + plain
    if syllable.endswith("ing"):
        return syllable[:-1]
    return syllable


# Words at least this long also match their near-homophones; shorter ones collide
# too often (是否/事发).
FUZZY_MIN_CHARS = 3


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
        self._by_fuzzy: dict[str, str] = {}
        # The first two syllables of every key: most positions of a text stop at one
        # lookup of these.
        self._pairs: set[str] = set()
        self._fuzzy_pairs: set[str] = set()
        vocab = set(vocabulary)
        self._vocab = vocab
        for word in sorted(vocab):
            if not 2 <= len(word) <= MAX_WINDOW:
                continue
            key = pinyin_key(word)
            if key:
                # First writer wins for homophone KB words; sorted for determinism.
                self._by_key.setdefault(key, word)
                self._pairs.add(" ".join(key.split(" ")[:2]))
                if len(word) >= FUZZY_MIN_CHARS:
                    fuzzy = " ".join(fuzzy_syllable(p) for p in key.split(" "))
                    self._by_fuzzy.setdefault(fuzzy, word)
                    self._fuzzy_pairs.add(" ".join(fuzzy.split(" ")[:2]))
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
        fz = [fuzzy_syllable(p) if p else "" for p in pys]
        pairs, fuzzy_pairs = self._pairs, self._fuzzy_pairs
        out: list[str] = []
        i, n = 0, len(text)
        while i < n:
            replaced = False
            exact = fuzzy = False
            if i + 1 < n and pys[i] and pys[i + 1]:
                exact = pys[i] + " " + pys[i + 1] in pairs
                fuzzy = fz[i] + " " + fz[i + 1] in fuzzy_pairs
            if exact or fuzzy:
                for k in range(min(MAX_WINDOW, n - i), 1, -1):
                    window = pys[i : i + k]
                    if not all(window):
                        continue
                    word = self._by_key.get(" ".join(window)) if exact else None
                    if (
                        word is None
                        and fuzzy
                        and k >= FUZZY_MIN_CHARS
                        # 验真吗 is not 验证码: a near-homophone never ends on a particle.
                        and text[i + k - 1] not in FUNCTION_CHARS
                    ):
                        word = self._by_fuzzy.get(" ".join(fz[i : i + k]))
                    if word is None:
                        continue
                    original = text[i : i + k]
                    if original != word:
                        if original in self._vocab or self._is_common(original):
                            continue
                        if original[0] in FUNCTION_CHARS:
                            continue
                        # A typo never cuts through or sits inside a real word:
                        # 系统里显示 is not 系统离线示.
                        if self._crosses_word(text, i, i + k):
                            continue
                    out.append(word)
                    i += k
                    replaced = True
                    break
            if not replaced:
                out.append(text[i])
                i += 1
        return "".join(out)

    def _crosses_word(self, text: str, start: int, end: int) -> bool:
        """Whether a dictionary word overlaps text[start:end] without lying inside it."""
        if self._spans is None:
            return False
        # Segmenting a few characters around the window is enough to see the words
        # that touch it, and keeps a long message from being segmented per candidate.
        lo = max(0, start - PROTECT_CONTEXT)
        for _word, s, e in self._spans(text[lo : end + PROTECT_CONTEXT]):
            s, e = s + lo, e + lo
            # Without HMM, jieba yields multi-character tokens only for dictionary words.
            if e - s >= 2 and s < end and e > start and not (start <= s and e <= end):
                return True
        return False
