"""Run only the keyword regexes that can match a text.

A KB holds hundreds of `re:` keywords and a message can match only a few of
them. Most regexes cannot match unless the text contains one of a small set of
characters (`(发票|票)(怎么|如何)` needs 发 or 票 — it needs 票, in fact); that
set is read from the parsed pattern once, and a message runs only the regexes
one of whose characters it contains. The cost then grows with the message, not
with the number of regexes. A pattern whose characters cannot be told (`.{18,}`,
`\\d{4}开头` does have 开) always runs.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

try:  # the parser of the `re` module; private, so a failure only disables the prefilter
    from re import _constants as sre_constants
    from re import _parser as sre_parse
except ImportError:  # pragma: no cover - other Pythons
    sre_parse = None
    sre_constants = None

# Sets larger than this are not worth indexing (every message would run the regex).
MAX_TRIGGER_CHARS = 40


def required_chars(pattern: str) -> frozenset[str] | None:
    """Return characters one of which every match contains, or None if unknown."""
    if sre_parse is None:
        return None
    try:
        parsed = sre_parse.parse(pattern)
    except (re.error, RecursionError):
        return None
    if parsed.state.flags & re.IGNORECASE:
        return None  # the text is lower case, a required character may not be
    found = _sequence(list(parsed))
    if found is None or len(found) > MAX_TRIGGER_CHARS:
        return None
    return frozenset(found)


def required_char_sets(pattern: str) -> list[frozenset[str]]:
    """Every match contains a character of each set: the sets of the mandatory elements
    of the pattern's top-level sequence (subpatterns flattened), smallest first."""
    if sre_parse is None:
        return []
    try:
        parsed = sre_parse.parse(pattern)
    except (re.error, RecursionError):
        return []
    if parsed.state.flags & re.IGNORECASE:
        return []
    sets = [frozenset(found) for found in _mandatory(list(parsed)) if found]
    return sorted((s for s in dict.fromkeys(sets) if len(s) <= MAX_TRIGGER_CHARS), key=len)


def _mandatory(items: list) -> list[set[str]]:
    out: list[set[str]] = []
    for op, av in items:
        if op == sre_constants.SUBPATTERN:
            out += _mandatory(list(av[-1]))
            continue
        found = _element(op, av)
        if found is not None:
            out.append(found)
    return out


def _sequence(items: list) -> set[str] | None:
    """The smallest set a mandatory element of a sequence requires (None: none found)."""
    best: set[str] | None = None
    for op, av in items:
        found = _element(op, av)
        if found is not None and (best is None or len(found) < len(best)):
            best = found
    return best


def _element(op, av) -> set[str] | None:
    c = sre_constants
    if op == c.LITERAL:
        return {chr(av)}
    if op == c.IN:
        chars: set[str] = set()
        for kind, value in av:
            if kind == c.LITERAL:
                chars.add(chr(value))
            elif kind == c.RANGE and value[1] - value[0] < MAX_TRIGGER_CHARS:
                chars.update(chr(v) for v in range(value[0], value[1] + 1))
            else:
                return None  # a negation, a category (\d) or a wide range
        return chars
    if op == c.SUBPATTERN:
        return _sequence(list(av[-1]))
    if op == c.BRANCH:
        union: set[str] = set()
        for alternative in av[1]:
            found = _sequence(list(alternative))
            if found is None:
                return None  # one alternative needs nothing we can name
            union |= found
        return union
    if op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None)):
        low, _high, item = av
        return _sequence(list(item)) if low >= 1 else None
    return None  # anchors, lookarounds, categories, groups by reference: require nothing


class RegexScan:
    """Regexes indexed by the characters they require."""

    def __init__(self, patterns: Iterable[tuple[int, re.Pattern[str]]]):
        self._by_char: dict[str, list[int]] = defaultdict(list)
        self._always: list[int] = []
        self._patterns: dict[int, re.Pattern[str]] = {}
        # A second set a match needs a character of, checked (one set operation)
        # before the regex runs: most candidates fail it, and a failed search costs more.
        self._also: dict[int, frozenset[str]] = {}
        for pos, pattern in patterns:
            self._patterns[pos] = pattern
            sets = required_char_sets(pattern.pattern)
            if len(sets) > 1:
                self._also[pos] = sets[1]
            chars = required_chars(pattern.pattern)
            if chars is None:
                self._always.append(pos)
            else:
                for ch in chars:
                    self._by_char[ch].append(pos)

    def __len__(self) -> int:
        return len(self._patterns)

    @property
    def always_run(self) -> int:
        return len(self._always)

    def matching(self, text: str) -> set[int]:
        """Return the positions of the regexes that match text."""
        candidates = set(self._always)
        by_char = self._by_char
        chars = set(text)
        for ch in chars:
            hit = by_char.get(ch)
            if hit is not None:
                candidates.update(hit)
        patterns, also = self._patterns, self._also
        return {
            pos
            for pos in candidates
            if (pos not in also or not chars.isdisjoint(also[pos]))
            and patterns[pos].search(text) is not None
        }
