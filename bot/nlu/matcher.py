"""Classify one message against the compiled knowledge base.

Score of an FAQ entry = SIMILARITY_WEIGHT × cosine similarity to its best
question/paraphrase + weights of the keywords that matched (attached to the
entry or to its intent) + a small priority bonus. An intent scores as its best
eligible entry. Then: clear winner → answer; close call or middling score →
clarify; low score or an `oos` winner → out of scope.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.nlu.kbindex import Analysis, Entry, KbIndex

OOS = "oos"
ANSWER, CLARIFY, OUT_OF_SCOPE = "answer", "clarify", "oos"

# Defaults; the KB snapshot's "settings" may override them (see KbIndex.settings).
DEFAULTS = {
    "similarity_weight": 1.0,
    "answer_threshold": 0.6,
    "clarify_threshold": 0.35,
    "margin": 0.15,
    "priority_bonus": 0.01,
    "max_candidates": 3,
    "keyword_decay": 0.5,
    # Without any cue of our domain (no keyword of an intent, no domain word),
    # only a near-paraphrase may be answered or offered: generic words such as
    # 怎么办 or 在哪 must not pull 手机没电了怎么办 into an invoice topic.
    "no_cue_similarity": 0.5,
}


@dataclass(frozen=True)
class Candidate:
    intent: str
    score: float
    entry: Entry


@dataclass(frozen=True)
class Classification:
    text: str
    intent: str
    score: float
    action: str  # "answer" | "clarify" | "oos"
    entry: Entry | None
    candidates: list[Candidate]
    analysis: Analysis | None = None
    matched_keywords: list[str] = field(default_factory=list)

    @property
    def candidate_pairs(self) -> list[tuple[str, float]]:
        return [(c.intent, round(c.score, 4)) for c in self.candidates]

    @property
    def entities(self) -> tuple[tuple[str, str], ...]:
        return self.analysis.extracted.entities if self.analysis else ()


def _setting(index: KbIndex, name: str) -> float:
    return float(index.settings.get(name, DEFAULTS[name]))


def _decayed(weights: list[float], decay: float) -> float:
    # Several keywords of one intent usually say the same thing (验真, 真伪);
    # each further one counts less so that stacking synonyms cannot outvote
    # one specific cause.
    return sum(w * decay**n for n, w in enumerate(sorted(weights, reverse=True)))


def score_entries(
    index: KbIndex, analysis: Analysis
) -> tuple[dict[int, float], list[str], bool, dict[int, float]]:
    """Return entry scores, the keywords that matched, whether any domain cue
    occurred, and the raw similarities."""
    text = analysis.canonical
    markers = analysis.extracted.markers()
    matched = index.matching_keywords(text, markers)
    intent_pos: dict[str, list[float]] = {}
    entry_pos: dict[int, list[float]] = {}
    intent_neg: dict[str, float] = {}
    entry_neg: dict[int, float] = {}
    for i in matched:
        kw = index.keywords[i]
        if kw.entry is not None:
            if kw.kind == "negative":
                entry_neg[kw.entry] = entry_neg.get(kw.entry, 0.0) + kw.weight
            else:
                entry_pos.setdefault(kw.entry, []).append(kw.weight)
        elif kw.intent is not None:
            if kw.kind == "negative":
                intent_neg[kw.intent] = intent_neg.get(kw.intent, 0.0) + kw.weight
            else:
                intent_pos.setdefault(kw.intent, []).append(kw.weight)
    decay = _setting(index, "keyword_decay")
    intent_kw = {
        k: _decayed(intent_pos.get(k, []), decay) - intent_neg.get(k, 0.0)
        for k in set(intent_pos) | set(intent_neg)
    }
    entry_kw = {
        k: _decayed(entry_pos.get(k, []), decay) - entry_neg.get(k, 0.0)
        for k in set(entry_pos) | set(entry_neg)
    }

    sims = index.similarities(analysis.features)
    sim_w = _setting(index, "similarity_weight")
    prio_w = _setting(index, "priority_bonus")
    scores: dict[int, float] = {}
    candidates = set(sims) | set(entry_kw)
    intents_hit = set(intent_kw)
    if intents_hit:
        candidates.update(e for e, entry in enumerate(index.entries) if entry.intent in intents_hit)
    for e in candidates:
        entry = index.entries[e]
        required = index.entry_required.get(e)
        if required and not matched.intersection(required):
            continue
        required = index.intent_required.get(entry.intent)
        if required and not matched.intersection(required):
            continue
        scores[e] = (
            sim_w * sims.get(e, 0.0)
            + entry_kw.get(e, 0.0)
            + intent_kw.get(entry.intent, 0.0)
            + prio_w * entry.priority
        )
    cue = index.has_domain_word(text) or any(
        kw.kind != "negative"
        and (kw.intent if kw.entry is None else index.entries[kw.entry].intent) != OOS
        for kw in (index.keywords[i] for i in matched)
    )
    return scores, sorted(index.keywords[i].word for i in matched), cue, sims


def classify_analysis(index: KbIndex, analysis: Analysis) -> Classification:
    """Decide on an already analysed message (memoised per text on the index)."""
    decided = index.memo.get("classification", analysis.raw)
    if decided is None or decided.analysis is not analysis:
        decided = _classify(index, analysis)
        index.memo.put("classification", analysis.raw, decided)
    return decided


def _classify(index: KbIndex, analysis: Analysis) -> Classification:
    scores, matched, cue, sims = score_entries(index, analysis)
    best_per_intent: dict[str, tuple[float, int]] = {}
    for e, s in scores.items():
        intent = index.entries[e].intent
        if s > best_per_intent.get(intent, (float("-inf"), -1))[0]:
            best_per_intent[intent] = (s, e)
    ranked = sorted(best_per_intent.items(), key=lambda kv: (-kv[1][0], kv[0]))
    candidates = [
        Candidate(intent=intent, score=s, entry=index.entries[e])
        for intent, (s, e) in ranked[:5]
        if s > 0
    ]
    if not candidates:
        return Classification(analysis.raw, OOS, 0.0, OUT_OF_SCOPE, None, [], analysis, matched)

    top = candidates[0]
    runner_up = candidates[1].score if len(candidates) > 1 else 0.0
    if top.intent == OOS or top.score < _setting(index, "clarify_threshold"):
        action = OUT_OF_SCOPE
    elif not cue and max(sims.values(), default=0.0) < _setting(index, "no_cue_similarity"):
        action = OUT_OF_SCOPE
    elif top.score >= _setting(index, "answer_threshold") and top.score - runner_up >= _setting(
        index, "margin"
    ):
        action = ANSWER
    else:
        action = CLARIFY
    intent = OOS if action == OUT_OF_SCOPE else top.intent
    return Classification(
        text=analysis.raw,
        intent=intent,
        score=round(top.score, 4),
        action=action,
        entry=top.entry if action != OUT_OF_SCOPE or top.intent == OOS else None,
        candidates=candidates,
        analysis=analysis,
        matched_keywords=matched,
    )


def classify_with(index: KbIndex, text: str) -> Classification:
    """Classify text against a given index (pure; used by tests and benchmarks)."""
    return classify_analysis(index, index.analyse(text or ""))


def classify(text: str) -> Classification:
    """Classify text against the live knowledge base of this process."""
    from bot.nlu.loader import current_index

    return classify_with(current_index(), text)
