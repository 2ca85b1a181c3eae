"""Unanswered-question mining: what followers asked that the bot could not answer,
grouped by need, with the FAQ entry nearest to each group.

The messages: out of scope, fallbacks, clarifications the follower walked away from,
and questions whose answer was rated 没用 (definitions.UnansweredReason). Each is
read the way the NLU reads it (`KbIndex.analyse`: normalised, homophones repaired,
synonyms folded, jieba words), then weighed as TF-IDF over its words (question words
and particles left out) and character bigrams, with document frequencies from the
knowledge base's own questions and the messages themselves. Messages are grouped by
cosine similarity to a group's centroid, largest need first, and groups whose
centroids are close are merged: similar wordings of one need land in one group.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from bot.conversations.models import Message
from bot.nlu import segment
from bot.nlu.loader import current_index
from bot.nlu.matcher import classify_with
from bot.nlu.models import FaqEntry
from bot.nlu.vocabulary import Intent
from bot.reports.building import TEXT_CHARS
from bot.reports.definitions import REPLY_PREFIX_CHARS
from bot.reports.models import ClusterAction, ReportUnanswered
from bot.reports.selectors import ReportRange, built_days, live_spans

# Joins a message to a group (cosine to its centroid), and merges two groups.
SIMILARITY = 0.3
WORD_WEIGHT = 1.0
BIGRAM_WEIGHT = 0.5
EXAMPLES = 5
# Question words, particles and pronouns (beside the NLU's own stopwords): they say how
# one asks, not what about. A character bigram with one of STOP_CHARS is left out too.
STOPWORDS = segment.STOPWORDS | frozenset(
    """怎么 怎样 怎么样 如何 什么 哪 哪里 哪些 哪个 为什么 为啥 怎么办 咋办 咋 啥 需要 应该
    能不能 可不可以 帮 帮我 说 问 知道 现在 今天 已经 没有 不 很 太 好 呢 吗 么 谢谢""".split()
)
STOP_CHARS = frozenset(
    "的了吗呢啊吧呀哦嘛么啥咋我你您他她它这那个是在有和与及或就也都还又才再要想能会怎样如何什哪为请给让把被很太"
)
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")


@dataclass
class Candidate:
    id: int
    at: datetime
    text: str
    reason: str


@dataclass
class Cluster:
    label: str
    count: int
    examples: list[str]
    first_seen: datetime
    last_seen: datetime
    reasons: dict[str, int]
    message_ids: list[int]
    texts: list[str]  # every distinct wording (canonical) in the group
    centroid: dict[str, float] = field(repr=False, default_factory=dict)
    nearest_entry: dict | None = None
    resolution: dict | None = None

    def as_dict(self) -> dict:
        return {
            "label": self.label,
            "count": self.count,
            "examples": self.examples,
            "first_seen": timezone.localtime(self.first_seen).isoformat(),
            "last_seen": timezone.localtime(self.last_seen).isoformat(),
            "reasons": self.reasons,
            "nearest_entry": self.nearest_entry,
            "resolution": self.resolution,
        }


# -- the messages ---------------------------------------------------------------------
def candidates(rng: ReportRange, *, now: datetime | None = None) -> list[Candidate]:
    """The range's unanswered messages: stored for built days, built for the others."""
    now = now or timezone.now()
    built = built_days(rng, timezone.localdate(now))
    out = [
        Candidate(r.message_id, r.created_at, r.text, r.reason)
        for r in ReportUnanswered.objects.filter(day__in=built).order_by("created_at")
    ]
    for built_window in live_spans(rng, now).built():
        for conversation in built_window.conversations:
            out += [
                Candidate(row.id, row.at, row.text, reason)
                for row, reason in conversation.unanswered_rows()
            ]
    return out


# -- similarity -----------------------------------------------------------------------
class Vectoriser:
    """TF-IDF vectors of texts as the NLU reads them."""

    def __init__(self, texts: list[str]) -> None:
        self.index = current_index()
        reference = []
        for entry in FaqEntry.objects.filter(active=True).only("question", "paraphrases"):
            reference += [entry.question, *entry.paraphrase_list]
        docs = [self.features(t) for t in [*reference, *texts]]
        df: Counter = Counter()
        for doc in docs:
            df.update(doc.keys())
        n = len(docs) or 1
        self.idf = {f: math.log(1 + n / c) for f, c in df.items()}
        self.unseen = math.log(1 + n)

    def canonical(self, text: str) -> str:
        return self.index.analyse(text).canonical

    def features(self, text: str) -> Counter:
        analysis = self.index.analyse(text)
        found: Counter = Counter()
        # Search mode adds a long word's parts too: 备注栏 also counts as 备注.
        for token in segment.tokenizer().cut_for_search(analysis.canonical, HMM=False):
            token = token.strip()
            if token and token not in STOPWORDS and any(ch.isalnum() for ch in token):
                found["w:" + token] += WORD_WEIGHT
        for run in _CJK_RUN.findall(analysis.canonical):
            for i in range(len(run) - 1):
                pair = run[i : i + 2]
                if pair[0] not in STOP_CHARS and pair[1] not in STOP_CHARS:
                    found["c:" + pair] += BIGRAM_WEIGHT
        return found

    def vector(self, text: str) -> dict[str, float]:
        weights = {f: w * self.idf.get(f, self.unseen) for f, w in self.features(text).items()}
        norm = math.sqrt(sum(v * v for v in weights.values())) or 1.0
        return {f: v / norm for f, v in weights.items()}


def cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    dot = sum(v * b.get(f, 0.0) for f, v in a.items())
    na = math.sqrt(sum(v * v for v in a.values())) or 1.0
    nb = math.sqrt(sum(v * v for v in b.values())) or 1.0
    return dot / (na * nb)


@dataclass
class _Group:
    members: list[str]  # canonical texts
    sums: dict[str, float]
    weight: int

    def add(self, vector: dict[str, float], times: int, text: str) -> None:
        for f, v in vector.items():
            self.sums[f] = self.sums.get(f, 0.0) + v * times
        self.weight += times
        self.members.append(text)


def group_texts(counts: Counter, vectors: dict[str, dict[str, float]]) -> list[_Group]:
    """Leader clustering by centroid, largest first; then merge groups that are close."""
    groups: list[_Group] = []
    by_feature: dict[str, set[int]] = defaultdict(set)
    for text, times in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        vector = vectors[text]
        near = set().union(*(by_feature.get(f, set()) for f in vector)) if vector else set()
        best, score = None, SIMILARITY
        for g in near:
            s = cosine(vector, groups[g].sums)
            if s >= score:
                best, score = g, s
        if best is None:
            groups.append(_Group([], {}, 0))
            best = len(groups) - 1
        groups[best].add(vector, times, text)
        for f in vector:
            by_feature[f].add(best)
    merged = True
    while merged:
        merged = False
        for i in range(len(groups)):
            for j in range(i + 1, len(groups)):
                a, b = groups[i], groups[j]
                if a.weight and b.weight and cosine(a.sums, b.sums) >= SIMILARITY:
                    for f, v in b.sums.items():
                        a.sums[f] = a.sums.get(f, 0.0) + v
                    a.weight += b.weight
                    a.members += b.members
                    b.weight, b.members, b.sums = 0, [], {}
                    merged = True
    return sorted((g for g in groups if g.weight), key=lambda g: -g.weight)


def clusters_from(found: list[Candidate], *, limit: int = 50) -> list[Cluster]:
    if not found:
        return []
    cap = int(getattr(settings, "REPORTS_MINING_MAX_TEXTS", 5000))
    index = current_index()
    by_text: dict[str, list[Candidate]] = defaultdict(list)
    for c in found:
        by_text[index.analyse(c.text).canonical].append(c)
    # The most frequent distinct wordings (canonical): each is one document.
    counts = Counter(dict(Counter({t: len(cs) for t, cs in by_text.items() if t}).most_common(cap)))
    vectoriser = Vectoriser([by_text[t][0].text for t in counts])
    vectors = {t: vectoriser.vector(by_text[t][0].text) for t in counts}
    out = []
    for group in group_texts(counts, vectors)[:limit]:
        members = [c for t in group.members for c in by_text[t]]
        raw = Counter(c.text.strip() for c in members)
        examples = [t for t, _ in raw.most_common(EXAMPLES)]
        out.append(
            Cluster(
                label=examples[0],
                count=len(members),
                examples=examples,
                first_seen=min(c.at for c in members),
                last_seen=max(c.at for c in members),
                reasons=dict(Counter(c.reason for c in members).most_common()),
                message_ids=sorted(c.id for c in members)[-200:],
                texts=list(group.members),
                centroid=group.sums,
            )
        )
    _nearest(out)
    _resolutions(out, vectoriser)
    return out


def _nearest(found: list[Cluster]) -> None:
    """The FAQ entry (not an out-of-scope one) the group's wordings come closest to."""
    index = current_index()
    questions = {e.key: e.question for e in index.entries}
    for cluster in found:
        scores: Counter = Counter()
        for text in cluster.examples:
            for candidate in classify_with(index, text).candidates:
                if candidate.intent != Intent.OOS:
                    scores[candidate.entry.key] = max(scores[candidate.entry.key], candidate.score)
        if scores:
            key, score = scores.most_common(1)[0]
            cluster.nearest_entry = {
                "key": key,
                "question": questions[key],
                "score": round(score, 3),
            }


def _resolutions(found: list[Cluster], vectoriser: Vectoriser) -> None:
    """What was done about a group, and how many later similar messages its entry answered."""
    actions = list(ClusterAction.objects.select_related("created_by").order_by("-created_at")[:500])
    if not actions:
        return
    canon = {a.pk: {vectoriser.canonical(t) for t in a.texts} for a in actions}
    answers = dict(FaqEntry.objects.values_list("key", "answer"))
    for cluster in found:
        mine = set(cluster.texts)
        action = next((a for a in actions if canon[a.pk] & mine), None)
        if action is None:
            continue
        answer = answers.get(action.entry_key, "")
        later = 0
        if answer:
            replies = Message.objects.filter(
                direction=Message.Direction.OUT,
                channel=Message.Channel.PASSIVE,
                created_at__gt=action.created_at,
                text__startswith=answer[:REPLY_PREFIX_CHARS],
            ).values_list("reply_to__text", "reply_to__recognition")
            for text, recognition in replies.iterator():
                said = (text or recognition or "")[:TEXT_CHARS]
                if cosine(vectoriser.vector(said), cluster.centroid) >= SIMILARITY:
                    later += 1
        cluster.resolution = {
            "kind": action.get_kind_display(),
            "entry": action.entry_key,
            "at": timezone.localtime(action.created_at).isoformat(),
            "by": action.created_by.get_username() if action.created_by else "",
            "answered_since": later,
        }


def unanswered_clusters(rng: ReportRange, *, limit: int = 50) -> list[Cluster]:
    """The range's unanswered messages, grouped by need, largest group first."""
    return clusters_from(candidates(rng), limit=limit)
