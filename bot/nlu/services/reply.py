"""The NLU entry point for dialog: understand one message and choose the reply."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from bot.nlu import context as ctx
from bot.nlu.kbindex import Analysis, Entry, KbIndex
from bot.nlu.loader import current_index
from bot.nlu.matcher import Classification, classify_analysis, classify_with
from bot.nlu.models import ReplyTemplate, split_lines
from bot.nlu.seed import load_seed
from bot.nlu.vocabulary import Intent, NluAction

# The system replies' keys: a vocabulary of its own (an action is not a reply key).
Reply = ReplyTemplate.Key
# Aliases kept for importers that predate the enums (bot.dialog); new code uses NluAction.
OFFER_HUMAN = NluAction.OFFER_HUMAN
EMPTY = NluAction.EMPTY
MISSES_BEFORE_HUMAN = 2
# Intents that end or do not open a topic: context must not continue them.
NO_TOPIC_INTENTS = frozenset({Intent.GREETING, Intent.THANKS_BYE, Intent.OOS})
# Intents a short message keeps even after a topic: they are never a follow-up.
NEVER_FOLLOW_UP_INTENTS = frozenset({Intent.GREETING, Intent.THANKS_BYE, Intent.HUMAN_AGENT})
# Short messages are the ones that may lean on the previous topic.
FOLLOW_UP_MAX_CHARS = 12

# A message with none of these (only emoji, punctuation, control characters) says nothing.
_MEANINGFUL_RE = re.compile(r"[0-9a-z\u3400-\u9fff]")


@dataclass(frozen=True)
class NluReply:
    text: str  # the Chinese reply to send
    intent: str  # final intent id (an `Intent` value), Intent.OOS when none
    score: float
    action: NluAction
    quick_replies: list[str]
    candidates: list[tuple[str, float]]
    # The offered option this message picked ("1", or the option's own words): its label.
    choice: str = ""


def nlu_fixed_reply(*, key: str) -> str:
    """Return a system reply text from the KB (e.g. `voice_unrecognised`)."""
    return _reply(current_index(), key)


def _reply(index: KbIndex, key: str) -> str:
    # An operator may blank or delete a system reply: fall back to the seed's text.
    return index.replies.get(key) or load_seed()["replies"][key]


def _fill(template: str, options: str) -> str:
    # Not str.format: a reply edited in admin may hold stray braces.
    if "{options}" in template:
        return template.replace("{options}", options)
    return f"{template}\n{options}"


def _with_options(index: KbIndex, text: str, labels: list[str]) -> str:
    if not labels:
        return text
    listed = "　".join(f"{n}. {label}" for n, label in enumerate(labels, 1))
    return text + "\n" + _fill(_reply(index, Reply.OPTIONS), listed)


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
        action=NluAction.ANSWER,
        quick_replies=labels,
        candidates=c.candidate_pairs if c else [(entry.intent, 1.0)],
    )
    return reply, [ctx.Option(label=label) for label in labels]


def _clarify(index: KbIndex, c: Classification) -> tuple[NluReply, list[ctx.Option]]:
    picks = [cand for cand in c.candidates if cand.intent != Intent.OOS][:3]
    labels = [cand.entry.question for cand in picks]
    listed = "\n".join(f"{n}. {label}" for n, label in enumerate(labels, 1))
    reply = NluReply(
        text=_fill(_reply(index, Reply.CLARIFY), listed),
        intent=c.intent,
        score=c.score,
        action=NluAction.CLARIFY,
        quick_replies=labels,
        candidates=c.candidate_pairs,
    )
    return reply, [ctx.Option(label=p.entry.question, entry=p.entry.key) for p in picks]


def _out_of_scope(
    index: KbIndex, c: Classification, misses: int
) -> tuple[NluReply, list[ctx.Option]]:
    if misses >= MISSES_BEFORE_HUMAN:
        labels = [_reply(index, Reply.HUMAN_LABEL)]
        text, action = _reply(index, Reply.OFFER_HUMAN), NluAction.OFFER_HUMAN
    elif c.entry is not None and c.entry.intent == Intent.OOS:
        labels = list(c.entry.quick_replies)
        text, action = _with_options(index, c.entry.answer, labels), NluAction.OUT_OF_SCOPE
    else:
        labels = []
        text, action = _reply(index, Reply.OOS), NluAction.OUT_OF_SCOPE
    reply = NluReply(
        text=text,
        intent=Intent.OOS,
        score=c.score,
        action=action,
        quick_replies=labels,
        candidates=c.candidate_pairs,
    )
    return reply, [ctx.Option(label=label) for label in labels]


def _resolve(
    index: KbIndex,
    state: ctx.ConversationState,
    text: str,
    analysis: Analysis,
    option: ctx.Option | None,
) -> tuple[Classification | None, Entry | None, str]:
    """Return (classification, entry to answer, topic text) using the conversation state.

    `option`: the offered option the message picked (`ctx.pick_option`), if any.
    """
    norm = analysis.normalised
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
    # A short message may lean on the topic ("是专票"), unless it clearly is
    # something else: a greeting, thanks, a request for a person, or chit-chat.
    leans_on_topic = (
        topic is not None
        and len(norm) <= FOLLOW_UP_MAX_CHARS
        and alone.intent not in NEVER_FOLLOW_UP_INTENTS
        and not (alone.candidates and alone.candidates[0].intent == Intent.OOS)
    )
    if leans_on_topic:
        joined = classify_with(index, f"{state.topic_text} {text}")
        # The topic helps only a message that has no confident answer of its own, or
        # agrees with it: "发漂查不倒" after "我的工单" is a new question, not a follow-up.
        if joined.action == NluAction.ANSWER and (
            alone.action != NluAction.ANSWER or alone.intent == joined.intent
        ):
            return joined, joined.entry, f"{state.topic_text} {text}"
    return alone, alone.entry, text


@dataclass(frozen=True)
class Understood:
    """The reply to one message and what it does to the conversation's memory.

    `context`: the state to remember; `forget`: drop the memory (a goodbye);
    neither: the memory stays as it was (a message that said nothing).
    """

    reply: NluReply
    context: ctx.ConversationState | None = None
    forget: bool = False


def nlu_reply(*, conversation_key: str, text: str) -> NluReply:
    """Understand one message (typed or recognised speech) and choose the reply."""
    understood = nlu_understand(state=ctx.context_load(conversation_key), text=text)
    ctx.context_apply(conversation_key, context=understood.context, forget=understood.forget)
    return understood.reply


def nlu_understand(
    *, state: ctx.ConversationState, text: str, kb_version: str | None = None
) -> Understood:
    """`nlu_reply` without the cache: the caller loads the memory and applies the result.

    The receive path reads the memory (part of the follower's conversation state) and
    the KB version in the round trip of its dedup claim, and writes the memory back
    with its other cache writes.
    """
    index = current_index(version=kb_version)
    text = text if isinstance(text, str) else ""
    analysis = index.analyse(text)
    if not _MEANINGFUL_RE.search(analysis.normalised):
        # Not a miss: nothing was said, so nothing was misunderstood.
        return Understood(
            NluReply(_reply(index, Reply.EMPTY), Intent.OOS, 0.0, NluAction.EMPTY, [], [])
        )

    option = ctx.pick_option(state, analysis.normalised)
    choice = option.label if option is not None else ""
    c, entry, topic_text = _resolve(index, state, text, analysis, option)
    if c is None and entry is None:
        labels = split_lines(_reply(index, Reply.STILL_UNSOLVED_OPTIONS))
        reply = NluReply(
            text=_with_options(index, _reply(index, Reply.STILL_UNSOLVED), labels),
            intent=state.intent or Intent.OOS,
            score=1.0,
            action=NluAction.ANSWER,
            quick_replies=labels,
            candidates=[(state.intent or Intent.OOS, 1.0)],
            choice=choice,
        )
        state.options = [ctx.Option(label=label) for label in labels]
        state.misses = 0
        return Understood(reply, context=state)

    if c is None or c.action == NluAction.ANSWER:
        assert entry is not None
        reply, options = _answer(index, entry, c)
        state.misses = 0
        if entry.intent == Intent.THANKS_BYE:
            return Understood(replace(reply, choice=choice), forget=True)
        if entry.intent not in NO_TOPIC_INTENTS:
            state.intent, state.entry, state.topic_text = entry.intent, entry.key, topic_text[-200:]
    elif c.action == NluAction.CLARIFY:
        reply, options = _clarify(index, c)
        state.misses = 0
    else:
        state.misses += 1
        reply, options = _out_of_scope(index, c, state.misses)
        if reply.action == NluAction.OFFER_HUMAN:
            state.misses = 0
    state.options = options
    return Understood(replace(reply, choice=choice), context=state)
