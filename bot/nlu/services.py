"""The NLU entry point for dialog, and the writes that change the knowledge base."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from bot.nlu import context as ctx
from bot.nlu.kbindex import Analysis, Entry, KbIndex
from bot.nlu.loader import current_index, set_kb_version
from bot.nlu.matcher import (
    ANSWER,
    CLARIFY,
    OOS,
    OUT_OF_SCOPE,
    Classification,
    classify_analysis,
    classify_with,
)
from bot.nlu.models import FaqEntry, Keyword

OFFER_HUMAN = "offer_human"
HUMAN_LABEL = "转人工"
MISSES_BEFORE_HUMAN = 2
# Intents that end or do not open a topic: context must not continue them.
NO_TOPIC_INTENTS = frozenset({"greeting", "thanks_bye", OOS})
# Short messages are the ones that may lean on the previous topic.
FOLLOW_UP_MAX_CHARS = 12

_FALLBACK_REPLIES = {
    # Used only if an operator deletes a template; the seeded texts live in the KB.
    "oos": "抱歉，这个问题我暂时帮不上忙，我可以帮您处理发票相关的问题。",
    "offer_human": "抱歉，我没能理解您的问题，回复“转人工”可以联系人工客服。",
    "clarify": "您是想问以下哪个问题吗？\n{options}",
    "still_unsolved": "还是不行的话，请把发票信息发给我再查一次，或回复“转人工”。",
    "voice_unrecognised": "抱歉，没有听清您的语音，请用文字描述一下您的问题。",
    "empty": "您好，请用文字描述一下发票遇到的问题。",
    "options": "您可以回复序号：{options}",
}


@dataclass(frozen=True)
class NluReply:
    text: str  # the Chinese reply to send
    intent: str  # final intent id (catalogue id), "oos" when none
    score: float
    action: str  # "answer" | "clarify" | "oos" | "offer_human"
    quick_replies: list[str]
    candidates: list[tuple[str, float]]


def kb_version_bump() -> None:
    """Make every process recompile the KB: now, and again once the edit commits."""
    set_kb_version(uuid.uuid4().hex)
    # The second bump stops another process from caching a rebuild that read
    # the database before this transaction committed.
    transaction.on_commit(lambda: set_kb_version(uuid.uuid4().hex))


@transaction.atomic
def faq_entry_update(*, entry: FaqEntry, **fields: Any) -> FaqEntry:
    """Change fields of an FAQ entry, validated, and republish the KB."""
    for name, value in fields.items():
        setattr(entry, name, value)
    entry.full_clean()
    entry.save(update_fields=[*fields, "updated_at"])
    return entry


@transaction.atomic
def keyword_create(
    *,
    word: str,
    weight: float = 0.5,
    kind: str = Keyword.Kind.BOOST,
    intent_id: str | None = None,
    entry: FaqEntry | None = None,
) -> Keyword:
    """Add a keyword to an intent or an entry and republish the KB."""
    keyword = Keyword(word=word, weight=weight, kind=kind, intent_id=intent_id, entry=entry)
    keyword.full_clean()
    keyword.save()
    return keyword


def nlu_fixed_reply(*, key: str) -> str:
    """Return a system reply text from the KB (e.g. `voice_unrecognised`)."""
    return _reply(current_index(), key)


def _reply(index: KbIndex, key: str) -> str:
    return index.replies.get(key) or _FALLBACK_REPLIES[key]


def _with_options(index: KbIndex, text: str, labels: list[str]) -> str:
    if not labels:
        return text
    listed = "　".join(f"{n}. {label}" for n, label in enumerate(labels, 1))
    return text + "\n" + _reply(index, "options").format(options=listed)


def _entry(index: KbIndex, key: str | None) -> Entry | None:
    if key is None:
        return None
    return next((e for e in index.entries if e.key == key), None)


def _answer(
    index: KbIndex, entry: Entry, c: Classification | None
) -> tuple[NluReply, list[ctx.Option]]:
    labels = list(entry.quick_replies)
    reply = NluReply(
        text=_with_options(index, entry.answer, labels),
        intent=entry.intent,
        score=c.score if c else 1.0,
        action=ANSWER,
        quick_replies=labels,
        candidates=c.candidate_pairs if c else [(entry.intent, 1.0)],
    )
    return reply, [ctx.Option(label=label) for label in labels]


def _clarify(index: KbIndex, c: Classification) -> tuple[NluReply, list[ctx.Option]]:
    picks = [cand for cand in c.candidates if cand.intent != OOS][:3]
    labels = [cand.entry.question for cand in picks]
    listed = "\n".join(f"{n}. {label}" for n, label in enumerate(labels, 1))
    reply = NluReply(
        text=_reply(index, "clarify").format(options=listed),
        intent=c.intent,
        score=c.score,
        action=CLARIFY,
        quick_replies=labels,
        candidates=c.candidate_pairs,
    )
    return reply, [ctx.Option(label=p.entry.question, entry=p.entry.key) for p in picks]


def _out_of_scope(
    index: KbIndex, c: Classification, misses: int
) -> tuple[NluReply, list[ctx.Option]]:
    if misses >= MISSES_BEFORE_HUMAN:
        labels = [HUMAN_LABEL]
        text, action = _reply(index, "offer_human"), OFFER_HUMAN
    elif c.entry is not None and c.entry.intent == OOS:
        labels = list(c.entry.quick_replies)
        text, action = _with_options(index, c.entry.answer, labels), OUT_OF_SCOPE
    else:
        labels = []
        text, action = _reply(index, "oos"), OUT_OF_SCOPE
    reply = NluReply(
        text=text,
        intent=OOS,
        score=c.score,
        action=action,
        quick_replies=labels,
        candidates=c.candidate_pairs,
    )
    return reply, [ctx.Option(label=label) for label in labels]


def _resolve(
    index: KbIndex, state: ctx.ConversationState, text: str, analysis: Analysis
) -> tuple[Classification | None, Entry | None, str]:
    """Return (classification, entry to answer, topic text) using the conversation state."""
    norm = analysis.normalised
    option = ctx.pick_option(state, norm)
    if option is not None:
        chosen = _entry(index, option.entry)
        if chosen is not None:
            return None, chosen, chosen.question
        text, analysis = option.label, index.analyse(option.label)
        norm = analysis.normalised

    topic = _entry(index, state.entry) if state.intent not in NO_TOPIC_INTENTS else None
    if topic is not None and len(norm) <= FOLLOW_UP_MAX_CHARS:
        if ctx.is_still_failing(norm):
            return None, None, state.topic_text  # handled by the caller: still unsolved
        if ctx.is_what_now(norm):
            return None, topic, state.topic_text

    alone = classify_analysis(index, analysis)
    if (
        topic is not None
        and len(norm) <= FOLLOW_UP_MAX_CHARS
        and alone.intent
        not in (
            "greeting",
            "thanks_bye",
            "human_agent",
        )
    ):
        joined = classify_with(index, f"{state.topic_text} {text}")
        if joined.action == ANSWER and (joined.intent == state.intent or alone.action != ANSWER):
            return joined, joined.entry, f"{state.topic_text} {text}"
    return alone, alone.entry, text


def nlu_reply(*, conversation_key: str, text: str) -> NluReply:
    """Understand one message (typed or recognised speech) and choose the reply."""
    index = current_index()
    state = ctx.context_load(conversation_key)
    text = text if isinstance(text, str) else ""
    analysis = index.analyse(text)
    if not analysis.canonical.strip(" ,.!?~") and not analysis.extracted.entities:
        reply = NluReply(_reply(index, "empty"), OOS, 0.0, OUT_OF_SCOPE, [], [])
        return reply

    c, entry, topic_text = _resolve(index, state, text, analysis)
    if c is None and entry is None:
        labels = ["发送发票信息", HUMAN_LABEL]
        reply = NluReply(
            text=_with_options(index, _reply(index, "still_unsolved"), labels),
            intent=state.intent or OOS,
            score=1.0,
            action=ANSWER,
            quick_replies=labels,
            candidates=[(state.intent or OOS, 1.0)],
        )
        state.options = [ctx.Option(label=label) for label in labels]
        state.misses = 0
        ctx.context_save(conversation_key, state)
        return reply

    if c is None or c.action == ANSWER:
        assert entry is not None
        reply, options = _answer(index, entry, c)
        state.misses = 0
        if entry.intent == "thanks_bye":
            ctx.context_clear(conversation_key)
            return reply
        if entry.intent not in NO_TOPIC_INTENTS:
            state.intent, state.entry, state.topic_text = entry.intent, entry.key, topic_text[-200:]
    elif c.action == CLARIFY:
        reply, options = _clarify(index, c)
        state.misses = 0
    else:
        state.misses += 1
        reply, options = _out_of_scope(index, c, state.misses)
        if reply.action == OFFER_HUMAN:
            state.misses = 0
    state.options = options
    ctx.context_save(conversation_key, state)
    return reply
