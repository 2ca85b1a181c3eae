"""Classify one message against the compiled knowledge base.

Score of an FAQ entry = SIMILARITY_WEIGHT × cosine similarity to its best
question/paraphrase + weights of the keywords that matched (attached to the
entry or to its intent) + a small priority bonus. In a message of several
clauses, keywords outside the clause that asks (`clauses.focus_span`) count
`context_weight` of their weight, and the similarity is the better of the whole
message's and the asking clause's. A quoted platform message (keyword kind
`message`) counts fully wherever it stands. An intent scores as its best
eligible entry. Then: clear winner → answer; close call or middling score →
clarify; low score or an `oos` winner → out of scope.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.nlu.kbindex import Analysis, Entry, KbIndex
from bot.nlu.quotes import compact
from bot.nlu.vocabulary import Intent, NluAction

# Aliases kept for importers that predate the enums (bot.dialog); new code uses the enums.
OOS = Intent.OOS
ANSWER, CLARIFY, OUT_OF_SCOPE = NluAction.ANSWER, NluAction.CLARIFY, NluAction.OUT_OF_SCOPE

# Defaults; the KB snapshot's "settings" may override them (see KbIndex.settings).
DEFAULTS = {
    "similarity_weight": 1.0,
    # Calibrated on held-out messages (docs/nlu.md, `nlu_eval --calibrate`): answers at
    # or above 0.8 that lead the runner-up by 0.45 were right 96.7 % of the time on a
    # set seen for the first time (margin 0.3: 94.4 %, under the 95 % asked for).
    "answer_threshold": 0.8,
    "clarify_threshold": 0.35,
    "margin": 0.45,
    "priority_bonus": 0.01,
    "max_candidates": 3,
    "keyword_decay": 0.5,
    # Without any cue of our domain (no keyword of an intent, no domain word),
    # only a near-paraphrase may be answered or offered: generic words such as
    # 怎么办 or 在哪 must not pull 手机没电了怎么办 into an invoice topic.
    "no_cue_similarity": 0.5,
    # A keyword outside the clause that asks (backstory, salutation, context) counts
    # this share of its weight; negative keywords always count fully.
    "context_weight": 0.6,
    # The asking clause's own similarity to a paraphrase, relative to the whole message's.
    "focus_similarity_weight": 0.9,
}


# Keywords of these intents count fully wherever they stand. The conversation's own
# words (你好, 谢谢) are never backstory. A cause (刚开, 外地, 作废, 不一致, 次数, 离线,
# 登不上) stated in the backstory is still the most specific cause the user states:
# 上海开的票，回北京查不到，正常吗 is a cross-region question. What the asking clause
# outweighs are context words: the kind of invoice (数电票, 纸质), the errand (报销,
# 查验, 下载), the generic symptom (查不到).
FULL_WEIGHT_INTENTS = frozenset(
    {
        Intent.GREETING,
        Intent.THANKS_BYE,
        Intent.SYNC_DELAY,
        Intent.CROSS_REGION,
        Intent.VOID_RED_STATUS,
        Intent.INFO_MISMATCH,
        Intent.CHECK_LIMIT,
        Intent.ISSUING_PROBLEM,
        Intent.SYSTEM_OUTAGE,
        # What the follower wants of the desk itself — a follow-up on an earlier
        # request, a complaint, a suggestion — is the message wherever it is said:
        # 上周提的赋额申请批下来了吗 is a follow-up, not a quota question.
        Intent.TICKET_STATUS,
        Intent.COMPLAINT,
        Intent.FEEDBACK,
    }
)


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
    action: NluAction  # ANSWER | CLARIFY | OUT_OF_SCOPE
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
    in_focus = index.matching_keywords(analysis.focus, markers) if analysis.focus else matched
    context_w = _setting(index, "context_weight")
    quoted = index.message_matches(compact(text))
    intent_pos: dict[str, list[float]] = {}
    entry_pos: dict[int, list[float]] = {}
    intent_neg: dict[str, float] = {}
    entry_neg: dict[int, float] = {}
    keywords, kw_intent = index.keywords, index.keyword_intent
    weighted = [
        (
            i,
            keywords[i].weight
            if i in in_focus
            or kw_intent[i] in FULL_WEIGHT_INTENTS
            # a neighbouring tax topic (an out-of-scope entry's keyword) is what the
            # message is about, as a cause is
            or (keywords[i].entry is not None and kw_intent[i] == Intent.OOS)
            else keywords[i].weight * context_w,
        )
        for i in matched
    ]
    weighted += [(i, index.keywords[i].weight * strength) for i, strength in quoted.items()]
    for i, weight in weighted:
        kw = index.keywords[i]
        if kw.entry is not None:
            if kw.kind == "negative":
                entry_neg[kw.entry] = entry_neg.get(kw.entry, 0.0) + kw.weight
            else:
                entry_pos.setdefault(kw.entry, []).append(weight)
        elif kw.intent is not None:
            if kw.kind == "negative":
                intent_neg[kw.intent] = intent_neg.get(kw.intent, 0.0) + kw.weight
            else:
                intent_pos.setdefault(kw.intent, []).append(weight)
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
    if analysis.focus_features:
        focus_w = _setting(index, "focus_similarity_weight")
        for e, s in index.similarities(analysis.focus_features).items():
            if focus_w * s > sims.get(e, 0.0):
                sims[e] = focus_w * s
    sim_w = _setting(index, "similarity_weight")
    prio_w = _setting(index, "priority_bonus")
    present = matched | set(quoted)
    entries, entry_required, intent_required = (
        index.entries,
        index.entry_required,
        index.intent_required,
    )

    def eligible(e: int) -> bool:
        required = entry_required.get(e)
        if required and not present.intersection(required):
            return False
        required = intent_required.get(entries[e].intent)
        return not (required and not present.intersection(required))

    candidates = set(sims) | set(entry_kw)
    for intent, value in intent_kw.items():
        if value <= 0:
            continue
        # The intent's other entries score alike but for their priority: its first
        # eligible one (they are in priority order) stands for all of them.
        for e in index.intent_entries.get(intent, ()):
            if e not in candidates and eligible(e):
                candidates.add(e)
                break
    scores: dict[int, float] = {}
    for e in candidates:
        if not eligible(e):
            continue
        entry = entries[e]
        scores[e] = (
            sim_w * sims.get(e, 0.0)
            + entry_kw.get(e, 0.0)
            + intent_kw.get(entry.intent, 0.0)
            + prio_w * entry.priority
        )
    cue = index.has_domain_word(text) or any(
        keywords[i].kind != "negative" and kw_intent[i] != Intent.OOS for i in present
    )
    return scores, sorted(index.keywords[i].word for i in present), cue, sims


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
        return Classification(
            analysis.raw, Intent.OOS, 0.0, NluAction.OUT_OF_SCOPE, None, [], analysis, matched
        )

    top = candidates[0]
    runner_up = candidates[1].score if len(candidates) > 1 else 0.0
    if top.intent == Intent.OOS or top.score < _setting(index, "clarify_threshold"):
        action = NluAction.OUT_OF_SCOPE
    elif not cue and max(sims.values(), default=0.0) < _setting(index, "no_cue_similarity"):
        action = NluAction.OUT_OF_SCOPE
    elif top.score >= _setting(index, "answer_threshold") and top.score - runner_up >= _setting(
        index, "margin"
    ):
        action = NluAction.ANSWER
    else:
        action = NluAction.CLARIFY
    intent = Intent.OOS if action == NluAction.OUT_OF_SCOPE else top.intent
    return Classification(
        text=analysis.raw,
        intent=intent,
        score=round(top.score, 4),
        action=action,
        entry=top.entry if action != NluAction.OUT_OF_SCOPE or top.intent == Intent.OOS else None,
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
