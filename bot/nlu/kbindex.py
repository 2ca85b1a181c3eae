"""The compiled, in-memory form of the knowledge base and text analysis.

`KbIndex.build(snapshot)` turns plain data (see `selectors.kb_snapshot`) into
lookup structures; it has no Django dependency so the matcher can be tested
and benchmarked on its own.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bot.nlu import segment
from bot.nlu.clauses import focus_span
from bot.nlu.normalize import Extracted, extract, normalise
from bot.nlu.phonetic import COMMON_WORD_FREQ, HomophoneRepairer
from bot.nlu.pinyin_input import PinyinReader
from bot.nlu.quotes import MessageTable, compact
from bot.nlu.regexscan import RegexScan

# Feature families and their weight in the cosine similarity: whole words
# matter most, character bigrams rescue segmentation differences.
WORD_WEIGHT = 1.0
BIGRAM_WEIGHT = 0.4
# Weight of a feature the KB has never seen, relative to the rarest known one.
UNSEEN_IDF_FACTOR = 0.75
# Similarities below this are left out of the candidates: alone they cannot make a
# decision, and next to a keyword they would add less than its weight by far.
MIN_SIMILARITY = 0.1
_CJK_RUN_RE = re.compile(r"[\u4e00-\u9fff]+")
_CJK_WORD_RE = re.compile(r"^[\u4e00-\u9fff]{2,}$")
_END = ""  # trie key marking the end of a keyword part (a real key is one character)
# Memo of per-text results on one index (see TextMemo).
MEMO_MAX_ENTRIES = 4096
MEMO_MAX_TEXT_CHARS = 120
# Words a pinyin-typed message is most often made of besides the KB's own: question
# words and verbs that KB sentences may lack in some forms.
PINYIN_BASE_WORDS = (
    "怎么 怎么办 怎么弄 为什么 如何 哪里 在哪 在哪里 多久 可以 不能 能不能 什么 一直 显示 "
    "提示 还是 已经 没有 不了 不到 查到 查不到 下载 打不开 登不上 是不是 要不要 我的 我们 "
    "你们 客服 一下 帮我 老师 你好 谢谢"
).split()


class TextMemo:
    """Results computed from a message's text alone, kept for the next identical text.

    At month-end the same short questions arrive over and over (刚开的发票查不到怎么办),
    and analysing one costs jieba plus the similarity scan (~0.5 ms). The memo lives on
    a `KbIndex`, so an edit of the knowledge base (a new index) starts an empty one.
    Bounded: long texts are not kept, and a full memo is emptied rather than aged
    (cheaper than an LRU's bookkeeping, and the common questions come straight back).
    Plain dict operations are atomic under the GIL, so threads share it without a lock;
    values must be treated as read-only by callers.
    """

    def __init__(self, max_entries: int = MEMO_MAX_ENTRIES) -> None:
        self._max_entries = max_entries
        self._values: dict[tuple[str, str], Any] = {}

    def get(self, kind: str, text: str) -> Any:
        return self._values.get((kind, text))

    def put(self, kind: str, text: str, value: Any) -> None:
        if len(text) > MEMO_MAX_TEXT_CHARS:
            return
        if len(self._values) >= self._max_entries:
            self._values.clear()
        self._values[(kind, text)] = value

    def __len__(self) -> int:
        return len(self._values)


@dataclass(frozen=True)
class Entry:
    key: str
    intent: str
    question: str
    answer: str
    quick_replies: tuple[str, ...]
    priority: int


@dataclass(frozen=True)
class CompiledKeyword:
    word: str
    kind: str  # "boost" | "required" | "negative" | "message"
    weight: float
    intent: str | None
    entry: int | None  # index into KbIndex.entries
    parts: tuple[str, ...] = ()
    pattern: re.Pattern[str] | None = None
    message: str = ""  # kind "message": the platform's text, compact (see quotes.py)

    def matches(self, text: str, markers: frozenset[str]) -> bool:
        if self.message:
            return False  # found by KbIndex.message_matches, verbatim or retyped
        if self.pattern is not None:
            return self.pattern.search(text) is not None
        if self.parts:
            return all(part in markers if part[0] == "@" else part in text for part in self.parts)
        return False


@dataclass(frozen=True)
class Analysis:
    raw: str
    normalised: str
    extracted: Extracted
    canonical: str
    tokens: tuple[str, ...]
    features: dict[str, float] = field(repr=False)
    # The clause that asks (clauses.focus_span), "" when it is the whole message.
    focus: str = ""
    focus_features: dict[str, float] = field(default_factory=dict, repr=False)


def compile_keyword_word(word: str) -> tuple[tuple[str, ...], re.Pattern[str] | None]:
    """Parse a keyword: `re:<regex>`, or parts joined by `+` that must all occur."""
    word = word.strip()
    if word.startswith("re:"):
        return (), re.compile(word[3:])
    parts = tuple(normalise(p) if p[:1] != "@" else p for p in word.split("+") if p.strip())
    return parts, None


class KbIndex:
    """Everything the matcher needs, built once per KB version."""

    def __init__(self) -> None:
        self.version: str = ""
        self.intents: dict[str, dict[str, str]] = {}
        self.entries: list[Entry] = []
        self.keywords: list[CompiledKeyword] = []
        self.replies: dict[str, str] = {}
        self.settings: dict[str, float] = {}
        self._syn_map: dict[str, str] = {}
        self._domain_re: re.Pattern[str] | None = None
        self._syn_re: re.Pattern[str] | None = None
        self._repairer = HomophoneRepairer((), lambda _w: True)
        self._pinyin = PinyinReader(())
        self._messages = MessageTable([])
        # feature → (example numbers, normalised weights): numpy arrays, so that a query
        # costs a few array operations however long the postings of 发票 or 怎么 grow.
        self._postings: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._entry_starts = np.zeros(0, dtype=np.intp)  # first example of each entry
        self._entry_ids = np.zeros(0, dtype=np.intp)  # ... and that entry's position
        self._idf: dict[str, float] = {}
        self._unseen_idf = 0.0
        self.doc_entry: list[int] = []
        self._trie: dict[str, Any] = {}  # plain keyword parts, one character per level
        self._by_part: dict[str, list[int]] = defaultdict(list)
        self._regex_keywords: list[int] = []
        self._regex_scan = RegexScan(())
        # Per keyword: the intent it speaks for (its own, or its entry's).
        self.keyword_intent: list[str] = []
        self.intent_entries: dict[str, list[int]] = defaultdict(list)  # by priority
        self.entry_required: dict[int, list[int]] = defaultdict(list)
        self.intent_required: dict[str, list[int]] = defaultdict(list)
        self.memo = TextMemo()

    # -- building -----------------------------------------------------------
    @classmethod
    def build(cls, snapshot: dict[str, Any], *, version: str = "") -> KbIndex:
        idx = cls()
        idx.version = version
        idx.intents = {i["id"]: i for i in snapshot.get("intents", [])}
        idx.replies = dict(snapshot.get("replies", {}))
        idx.settings = dict(snapshot.get("settings", {}))
        idx._build_synonyms(snapshot.get("synonyms", []))
        entry_pos = idx._build_entries(snapshot.get("entries", []))
        for positions in idx.intent_entries.values():
            positions.sort(key=lambda e: -idx.entries[e].priority)
        idx._build_keywords(snapshot.get("keywords", []), entry_pos)
        vocabulary = idx._teach_tokenizer(snapshot)
        idx._repairer = HomophoneRepairer(
            vocabulary, lambda w: segment.word_freq(w) >= COMMON_WORD_FREQ, segment.spans
        )
        counts = idx._build_similarity(snapshot.get("entries", []), entry_pos)
        idx._build_pinyin(vocabulary, counts)
        return idx

    def _build_synonyms(self, groups: list[dict[str, Any]]) -> None:
        for group in groups:
            canonical = normalise(group["canonical"])
            for variant in group.get("variants", []):
                variant = normalise(variant)
                if variant and variant != canonical:
                    self._syn_map[variant] = canonical
        if self._syn_map:
            alternatives = sorted(self._syn_map, key=len, reverse=True)
            self._syn_re = re.compile("|".join(re.escape(v) for v in alternatives))

    def _build_entries(self, entries: list[dict[str, Any]]) -> dict[str, int]:
        pos: dict[str, int] = {}
        for raw in entries:
            if not raw.get("active", True) or raw["intent"] not in self.intents:
                continue
            pos[str(raw["key"])] = len(self.entries)
            self.intent_entries[raw["intent"]].append(len(self.entries))
            self.entries.append(
                Entry(
                    key=str(raw["key"]),
                    intent=raw["intent"],
                    question=raw["question"],
                    answer=raw["answer"],
                    quick_replies=tuple(raw.get("quick_replies") or ()),
                    priority=int(raw.get("priority") or 0),
                )
            )
        return pos

    def _build_keywords(self, keywords: list[dict[str, Any]], entry_pos: dict[str, int]) -> None:
        seen: set[tuple[Any, ...]] = set()
        self._messages_raw: list[tuple[str, int]] = []
        for raw in keywords:
            entry = entry_pos.get(str(raw["entry"])) if raw.get("entry") is not None else None
            intent = raw.get("intent")
            if entry is None and (intent is None or intent not in self.intents):
                continue  # attached to an inactive entry or an unknown intent
            try:
                parts, pattern = compile_keyword_word(raw["word"])
            except re.error:
                continue  # admin validation rejects these; never break matching
            kind = raw.get("kind", "boost")
            if kind == "message":
                message = compact(self._canonical(normalise(raw["word"])))
                if message:
                    self._messages_raw.append((message, len(self.keywords)))
                    self.keywords.append(
                        CompiledKeyword(
                            word=raw["word"],
                            kind=kind,
                            weight=float(raw.get("weight", 1.0)),
                            intent=intent if entry is None else None,
                            entry=entry,
                            message=message,
                        )
                    )
                continue
            if not parts and pattern is None:
                continue
            kw = CompiledKeyword(
                word=raw["word"],
                kind=raw.get("kind", "boost"),
                weight=float(raw.get("weight", 1.0)),
                intent=intent if entry is None else None,
                entry=entry,
                parts=tuple(self._canonical(p) if p[0] != "@" else p for p in parts),
                pattern=pattern,
            )
            # Synonyms can fold two keywords into one (找不到 and 查不到): count it once.
            identity = (kw.parts, kw.pattern and kw.pattern.pattern, kw.kind, kw.intent, kw.entry)
            if identity in seen:
                continue
            seen.add(identity)
            pos = len(self.keywords)
            self.keywords.append(kw)
            if kw.pattern is not None:
                self._regex_keywords.append(pos)
            else:
                for part in set(kw.parts):
                    self._by_part[part].append(pos)
                    if part[0] != "@":
                        node = self._trie
                        for ch in part:
                            node = node.setdefault(ch, {})
                        node[_END] = part
            if kw.kind == "required":
                if kw.entry is not None:
                    self.entry_required[kw.entry].append(pos)
                else:
                    self.intent_required[kw.intent or ""].append(pos)
        self._messages = MessageTable(self._messages_raw)
        self._regex_scan = RegexScan(
            (pos, self.keywords[pos].pattern)
            for pos in self._regex_keywords  # type: ignore[misc]
        )
        self.keyword_intent = [
            (kw.intent if kw.entry is None else self.entries[kw.entry].intent) or ""
            for kw in self.keywords
        ]

    def _teach_tokenizer(self, snapshot: dict[str, Any]) -> set[str]:
        words: list[tuple[str, int | None]] = [
            (normalise(w["word"]), w.get("freq")) for w in snapshot.get("domain_words", [])
        ]
        words += [(c, None) for c in set(self._syn_map.values())]
        for kw in self.keywords:
            words += [(p, None) for p in kw.parts if _CJK_WORD_RE.match(p)]
        segment.add_words(words)
        domain = sorted(
            {w for w, _ in words[: len(snapshot.get("domain_words", []))] if w} | {"票", "税"},
            key=len,
            reverse=True,
        )
        self._domain_re = re.compile("|".join(re.escape(w) for w in domain))
        vocabulary = {w for w, _ in words if _CJK_WORD_RE.match(w)}
        vocabulary.update(v for v in self._syn_map if _CJK_WORD_RE.match(v))
        return vocabulary

    def _build_similarity(
        self, entries: list[dict[str, Any]], entry_pos: dict[str, int]
    ) -> Counter[str]:
        """Index the questions and paraphrases; return how often each word and
        character occurs in them (the pinyin reader prefers the KB's words)."""
        docs: list[Counter[str]] = []
        counts: Counter[str] = Counter()
        for raw in entries:
            pos = entry_pos.get(str(raw["key"]))
            if pos is None:
                continue
            for sentence in [raw["question"], *raw.get("paraphrases", [])]:
                canonical = self._canonical(extract(normalise(sentence)).text)
                tokens = segment.segment(canonical)
                counts.update(tokens)
                counts.update(ch for ch in canonical if "\u4e00" <= ch <= "\u9fff")
                feats = self._features(canonical, tokens)
                if feats:
                    docs.append(feats)
                    self.doc_entry.append(pos)
        n = len(docs)
        df: Counter[str] = Counter()
        for doc in docs:
            df.update(doc.keys())
        self._idf = {f: math.log(1 + (n - c + 0.5) / (c + 0.5)) for f, c in df.items()}
        self._unseen_idf = math.log(1 + (n + 0.5) / 0.5) * UNSEEN_IDF_FACTOR
        postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for d, doc in enumerate(docs):
            vec = {f: tf_w * self._idf[f] for f, tf_w in doc.items()}
            norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
            for f, v in vec.items():
                postings[f].append((d, v / norm))
        self._postings = {
            f: (
                np.fromiter((d for d, _v in rows), dtype=np.intp, count=len(rows)),
                np.fromiter((v for _d, v in rows), dtype=np.float64, count=len(rows)),
            )
            for f, rows in postings.items()
        }
        # Examples are numbered entry by entry, so each entry's are one run.
        doc_entry = np.asarray(self.doc_entry, dtype=np.intp)
        if len(doc_entry):
            starts = np.flatnonzero(np.r_[True, doc_entry[1:] != doc_entry[:-1]])
            self._entry_starts, self._entry_ids = starts, doc_entry[starts]
        return counts

    def _build_pinyin(self, vocabulary: set[str], counts: Counter[str]) -> None:
        # KB words weigh by how often the KB's sentences use them; a domain word or
        # keyword the sentences never use still reads (weight 1), function words least.
        words: dict[str, int] = dict.fromkeys(PINYIN_BASE_WORDS, 0)
        for word in vocabulary:
            words[word] = max(words.get(word, 0), 1)
        for word, n in counts.items():
            if _CJK_RUN_RE.fullmatch(word):
                words[word] = max(words.get(word, 0), n + 1)
        self._pinyin = PinyinReader(words.items())

    def message_matches(self, compact_text: str) -> dict[int, float]:
        """Return {keyword position: strength} of the platform messages a text quotes."""
        return self._messages.find(compact_text)

    def matching_keywords(self, text: str, markers: frozenset[str]) -> set[int]:
        """Return the positions of keywords that match text (and its field markers).

        Plain parts are found in one pass with a character trie, so the cost grows
        with the message, not with the number of keywords; of the regexes, only those
        whose required characters occur run (`regexscan.RegexScan`).
        """
        present: set[str] = set(markers)
        trie, n = self._trie, len(text)
        for i in range(n):
            node = trie.get(text[i])
            j = i + 1
            while node is not None:
                word = node.get(_END)
                if word is not None:
                    present.add(word)
                if j >= n:
                    break
                node = node.get(text[j])
                j += 1
        matched: set[int] = set()
        for part in present:
            for pos in self._by_part.get(part, ()):
                if pos not in matched and all(p in present for p in self.keywords[pos].parts):
                    matched.add(pos)
        matched.update(self._regex_scan.matching(text))
        return matched

    def has_domain_word(self, text: str) -> bool:
        """Return whether text names something of the invoice domain (票, 税, a domain word)."""
        return self._domain_re is not None and self._domain_re.search(text) is not None

    # -- analysing ----------------------------------------------------------
    def _canonical(self, text: str) -> str:
        if self._syn_re is None:
            return text
        return self._syn_re.sub(lambda m: self._syn_map[m.group(0)], text)

    @staticmethod
    def _features(text: str, tokens: list[str] | None = None) -> Counter[str]:
        feats: Counter[str] = Counter()
        for tok in tokens if tokens is not None else segment.segment(text):
            feats["w:" + tok] += WORD_WEIGHT
        for run in _CJK_RUN_RE.findall(text):
            for i in range(len(run) - 1):
                feats["c:" + run[i : i + 2]] += BIGRAM_WEIGHT
        return feats

    def analyse(self, text: str) -> Analysis:
        """Run normalise → extract → homophone repair → synonyms → segment (memoised)."""
        text = text or ""
        analysis = self.memo.get("analysis", text)
        if analysis is None:
            analysis = self._analyse(text)
            self.memo.put("analysis", text, analysis)
        return analysis

    def _analyse(self, text: str) -> Analysis:
        norm = normalise(text or "")
        extracted = extract(norm)
        read = self._pinyin.read(extracted.text)
        canonical = self._canonical(self._repairer.repair(read))
        spans = segment.content_spans(canonical) if canonical else []
        tokens = [tok for tok, _start in spans]
        feats = self._features(canonical, tokens)
        span = focus_span(canonical)
        focus = canonical[span[0] : span[1]] if span else ""
        focus_tokens = [tok for tok, start in spans if span and span[0] <= start < span[1]]
        return Analysis(
            raw=text,
            normalised=norm,
            extracted=extracted,
            canonical=canonical,
            tokens=tuple(tokens),
            features=dict(feats),
            focus=focus,
            focus_features=dict(self._features(focus, focus_tokens)) if focus else {},
        )

    def similarities(self, features: dict[str, float]) -> dict[int, float]:
        """Return the cosine similarity per entry (best paraphrase) for query features."""
        # Features the KB has never seen still count in the query's length, as
        # the rarest kind: a message that is mostly about something else (怎么学英语)
        # must not look like a perfect match on its one known word.
        # One lookup per feature: a feature has postings exactly when it has an idf.
        postings, idf, unseen = self._postings, self._idf, self._unseen_idf
        squares = 0.0
        hits: list[tuple[tuple[np.ndarray, np.ndarray], float]] = []
        for f, w in features.items():
            hit = postings.get(f)
            if hit is None:
                qv = w * unseen
            else:
                qv = w * idf[f]
                hits.append((hit, qv))
            squares += qv * qv
        norm = math.sqrt(squares)
        if not norm or not hits:
            return {}
        docs = [hit[0] for hit, _qv in hits]
        weights = [hit[1] * (qv / norm) for hit, qv in hits]
        acc = np.bincount(
            np.concatenate(docs), weights=np.concatenate(weights), minlength=len(self.doc_entry)
        )
        best = np.maximum.reduceat(acc, self._entry_starts)
        keep = np.flatnonzero(best >= MIN_SIMILARITY)
        return dict(zip(self._entry_ids[keep].tolist(), best[keep].tolist(), strict=True))

    @property
    def doc_count(self) -> int:
        return len(self.doc_entry)
