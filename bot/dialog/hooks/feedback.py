"""The follower's word on the bot: a rating of a knowledge-base answer, and suggestions.

- `rate` (before the NLU): 有用 / 没用 right after a knowledge-base answer rates that
  answer (words, never digits: bare 1/2 already pick the NLU's numbered options and
  score a resolved ticket). 没用 offers a rephrase or a person (the help desk's pending
  offer: one more miss, or 转人工, reaches a person).
- `ask` (after the NLU, last): under a knowledge-base answer, the prompt to rate it,
  at most once per conversation (`ConversationState.feedback` remembers which answer
  was asked about), on a share of answers (`FEEDBACK_ASK_SHARE`, chosen by a hash of
  the delivery, so one message is asked or not whatever route it takes): asking makes
  the turn leave the one-statement route of the receive path, so the share is the
  price. Unasked, 有用 / 没用 after an answer still rates it.
- `suggestion` (after the NLU): a message of the `feedback` intent goes to the 意见建议
  inbox; the knowledge base's answer thanks the follower.

Every predicate reads the turn alone: the text, the understood reply, the state.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.template.loader import render_to_string

from bot.dialog.state import Turn
from bot.feedback.selectors import answers_last_before
from bot.feedback.services import answer_rating_record, suggestion_record
from bot.nlu.loader import current_index
from bot.nlu.normalize import normalise
from bot.nlu.vocabulary import Intent, NluAction

# Answers worth a rating: what the follower came for, not small talk or hand-overs.
NOT_RATED_INTENTS = frozenset(
    {
        Intent.GREETING,
        Intent.THANKS_BYE,
        Intent.HUMAN_AGENT,
        Intent.COMPLAINT,
        Intent.FEEDBACK,
        Intent.TICKET_STATUS,
        Intent.OOS,
    }
)
# Matching vocabulary (not user-facing): a message that is only one of these rates.
USEFUL_WORDS = frozenset({"有用", "有帮助", "很有用", "有用的", "挺有用", "有用谢谢", "管用"})
USELESS_WORDS = frozenset(
    {"没用", "没有用", "没用的", "没帮助", "没有帮助", "没什么用", "不管用", "无用", "没帮上"}
)
_STRIP = " .。!！?？,，~～、"
ACK_TEMPLATES = ("bot/replies/feedback_useful.txt", "bot/replies/feedback_useless.txt")


def _render(template: str) -> str:
    return render_to_string(template).strip()


def rating_of(text: str | None) -> bool | None:
    """True for 有用, False for 没用, None for anything else."""
    if not text or len(text) > 12:
        return None
    word = normalise(text).strip(_STRIP).replace(" ", "")
    if word in USEFUL_WORDS:
        return True
    if word in USELESS_WORDS:
        return False
    return None


def _topic_entry(turn: Turn) -> str | None:
    return (turn.state.nlu or {}).get("entry")


def _entry_answering(turn: Turn, text: str) -> str | None:
    """The topic entry when `text` is its answer (with options or notices after it)."""
    key = _topic_entry(turn)
    if not key or not text:
        return None
    index = current_index(version=turn.kb_version)
    entry = next((e for e in index.entries if e.key == key), None)
    if entry is None or entry.intent in NOT_RATED_INTENTS or not text.startswith(entry.answer):
        return None
    return key


# -- before the NLU: a rating --------------------------------------------------------
def rate_wants(turn: Turn) -> bool:
    """A bare 有用 / 没用 while there is an answer it can be about."""
    if rating_of(turn.text) is None:
        return False
    return bool(turn.state.feedback or _topic_entry(turn))


def rate_act(turn: Turn) -> str | None:
    """Keep the rating of the follower's last answer; 没用 offers a rephrase or a person."""
    useful = rating_of(turn.text)
    if useful is None:
        return None
    message = turn.message
    acks = {_render(t) for t in ACK_TEMPLATES}
    replies = answers_last_before(follower_id=message.follower_id, before_id=message.pk)
    # The answer is the last reply that is not the acknowledgement of an earlier rating.
    answer = next((r for r in replies if r.text not in acks), None)
    if answer is None:
        return None
    asked = turn.state.feedback or {}
    if asked.get("question") == answer.reply_to_id and asked.get("entry"):
        entry_key, prompted = asked["entry"], bool(asked.get("prompted"))
    else:
        entry_key, prompted = _entry_answering(turn, answer.text), False
    if entry_key is None:
        return None  # the last reply was no knowledge-base answer: the NLU reads the words
    answer_rating_record(
        follower=message.follower,
        answer=answer,
        entry_key=entry_key,
        useful=useful,
        rating_message=message,
        prompted=prompted,
    )
    turn.state.feedback_set(
        {"entry": entry_key, "question": answer.reply_to_id, "prompted": prompted, "rated": True}
    )
    if useful:
        return _render("bot/replies/feedback_useful.txt")
    turn.state.offer_set(True)
    return _render("bot/replies/feedback_useless.txt")


# -- after the NLU: the prompt, and suggestions ---------------------------------------
def _sampled(turn: Turn) -> bool:
    share = float(getattr(settings, "FEEDBACK_ASK_SHARE", 0.0))
    if share <= 0:
        return False
    if share >= 1:
        return True
    digest = hashlib.blake2b(turn.inbound.dedup_key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") < share * 2**64


def ask_wants(turn: Turn) -> bool:
    nlu = turn.understood
    if nlu.action != NluAction.ANSWER or nlu.intent in NOT_RATED_INTENTS or turn.state.feedback:
        return False
    if not _sampled(turn):
        return False
    return _entry_answering(turn, nlu.text) is not None


def ask_act(turn: Turn) -> str | None:
    """The knowledge base's answer with the prompt to rate it under it."""
    if not ask_wants(turn):
        return None
    entry_key = _entry_answering(turn, turn.understood.text)
    turn.state.feedback_set({"entry": entry_key, "question": turn.message.pk, "prompted": True})
    return f"{turn.understood.text}\n\n{_render('bot/replies/feedback_ask.txt')}"


def suggestion_wants(turn: Turn) -> bool:
    nlu = turn.understood
    return nlu.action == NluAction.ANSWER and nlu.intent == Intent.FEEDBACK


def suggestion_act(turn: Turn) -> str | None:
    """Put the suggestion in the inbox; the knowledge base's answer thanks the follower."""
    if not suggestion_wants(turn):
        return None
    suggestion_record(message=turn.message, text=turn.text or "")
    return None
