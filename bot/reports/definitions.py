"""The definitions of the figures: a contract (docs/reports.md says them in words).

- A *conversation* is one follower's messages with gaps under `CONVERSATION_GAP`;
  it belongs to the local day (Asia/Shanghai) of its first message.
- A *follower message* is an inbound message the follower sent: every type but
  events, and menu clicks (the follower pressed something). Subscribe, unsubscribe,
  location reports and delivery reports are no messages.
- A *bot turn* is the passive reply to a follower message; replies acknowledging a
  rating (有用 / 没用) are about a turn, not turns of their own.
- *escalated*: a ticket was opened during the conversation (by the follower, from
  its first message until `CONVERSATION_GAP` after its last) or one of its messages
  joined a ticket (an open one, or a resolved one it reopened);
  *deflection_rate* = 1 − escalated / conversations.
- *contained*: not escalated, the last bot turn a knowledge-base answer, no 没用
  rating in it, and no conversation of the same follower on the same intent (the
  intent of its last answer) starting within `CONTAINMENT_WINDOW` after it ended.
- *unanswered*: the last bot turn was out of scope or a fallback.
- *bot_answered*: at least one bot turn was a knowledge-base answer.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from django.conf import settings

CONVERSATION_GAP = timedelta(minutes=30)
CONTAINMENT_WINDOW = timedelta(hours=24)
# A day's figures stop changing once its last conversation can no longer be extended
# or un-contained.
SETTLED_AFTER = CONVERSATION_GAP + CONTAINMENT_WINDOW + timedelta(minutes=30)
# Reply texts are compared by their first characters (enough to tell entries apart).
REPLY_PREFIX_CHARS = 80


class TurnOutcome(StrEnum):
    """What one bot turn was."""

    ANSWER = "answer"  # an FAQ entry's answer (any intent but oos)
    CLARIFY = "clarify"  # "did you mean …?" with numbered options
    OUT_OF_SCOPE = "oos"  # the out-of-scope reply, or an oos entry's answer
    FALLBACK = "fallback"  # offer of a person after misses, still unsolved, apology,
    # voice not recognised, unsupported message type
    RATING = "rating"  # the acknowledgement of a 有用 / 没用 (not a turn)
    OTHER = "other"  # help desk, invoice checks, menus, welcome …


UNANSWERED_OUTCOMES = frozenset({TurnOutcome.OUT_OF_SCOPE, TurnOutcome.FALLBACK})


class UnansweredReason(StrEnum):
    """Why a follower message is a candidate of unanswered-question mining."""

    OUT_OF_SCOPE = "oos"
    FALLBACK = "fallback"
    CLARIFY_ABANDONED = "clarify_abandoned"  # offered options, then nothing more
    RATED_USELESS = "useless"  # its answer was rated 没用


def tz() -> ZoneInfo:
    return ZoneInfo(getattr(settings, "REPORTS_TIMEZONE", "Asia/Shanghai"))


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz())


def day_of(moment: datetime) -> date:
    return moment.astimezone(tz()).date()


def days_between(start: date, end: date) -> list[date]:
    """Every day from start to end, both included."""
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]
