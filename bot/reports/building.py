"""From stored messages, tickets and ratings to conversations (definitions.py).

One builder for both uses: the refresh task persists the conversations of settled
days (`ReportConversation`, `DailyRollup`), and the figures of today (or of any day
not built yet) are built here on the fly from the same rows, so both say the same.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Case, F, Q, When
from django.db.models.functions import Substr
from django.utils import timezone

from bot.conversations.models import Follower, Message
from bot.feedback.selectors import question_ratings_between
from bot.nlu.vocabulary import Intent
from bot.reports.definitions import (
    CONTAINMENT_WINDOW,
    CONVERSATION_GAP,
    UNANSWERED_OUTCOMES,
    TurnOutcome,
    UnansweredReason,
)
from bot.reports.outcomes import TurnClassifier
from tickets.models import Queue, Ticket, TicketMessage

TEXT_CHARS = 200
# How far a conversation that started in the window may run past its end, and how far
# its follower's next conversations are looked at (containment).
LOOKAHEAD = CONVERSATION_GAP + CONTAINMENT_WINDOW + timedelta(hours=6)
# Intents that say nothing of what a conversation is about.
SMALL_TALK = frozenset({Intent.GREETING, Intent.THANKS_BYE, Intent.OOS, ""})
_REF_PREFIX = "wx:"  # bot.helpdesk.escalation.message_ref


@dataclass
class Row:
    """One follower message and the bot turn that answered it."""

    id: int
    follower_id: int
    at: datetime
    intent: str
    text: str
    outcome: TurnOutcome | None = None  # None: no passive reply
    entry: str = ""


@dataclass
class Conversation:
    follower_id: int
    rows: list[Row]
    escalated: bool = False
    ticket_id: int | None = None
    queue_id: int | None = None
    contained: bool = False
    rated_useless: bool = False
    rated: dict[int, bool] = field(default_factory=dict)

    @property
    def started_at(self) -> datetime:
        return self.rows[0].at

    @property
    def ended_at(self) -> datetime:
        return self.rows[-1].at

    @property
    def first_id(self) -> int:
        return self.rows[0].id

    @property
    def messages_in(self) -> int:
        return len(self.rows)

    @property
    def turns(self) -> list[Row]:
        return [r for r in self.rows if r.outcome not in (None, TurnOutcome.RATING)]

    @property
    def last_turn(self) -> Row | None:
        turns = self.turns
        return turns[-1] if turns else None

    @property
    def last_outcome(self) -> str:
        last = self.last_turn
        return last.outcome if last is not None else ""

    @property
    def bot_answered(self) -> bool:
        return any(r.outcome == TurnOutcome.ANSWER for r in self.rows)

    @property
    def answered_turns(self) -> int:
        return sum(1 for r in self.rows if r.outcome == TurnOutcome.ANSWER)

    @property
    def unanswered(self) -> bool:
        return self.last_outcome in UNANSWERED_OUTCOMES

    @property
    def topic_intent(self) -> str:
        """The intent the last answer was about (containment compares it)."""
        last = self.last_turn
        return last.intent if last is not None and last.outcome == TurnOutcome.ANSWER else ""

    @property
    def main_intent(self) -> str:
        """What the conversation was about: its first intent that is not small talk."""
        for row in self.rows:
            if row.intent not in SMALL_TALK:
                return row.intent
        return next((r.intent for r in self.rows if r.intent), "")

    @property
    def intents(self) -> set[str]:
        return {r.intent for r in self.rows if r.intent}

    def unanswered_rows(self) -> list[tuple[Row, UnansweredReason]]:
        """The messages unanswered-question mining looks at, with the reason."""
        out = []
        last = self.rows[-1]
        for row in self.rows:
            if not row.text.strip():
                continue
            if self.rated.get(row.id) is False:
                out.append((row, UnansweredReason.RATED_USELESS))
            elif row.outcome == TurnOutcome.OUT_OF_SCOPE:
                out.append((row, UnansweredReason.OUT_OF_SCOPE))
            elif row.outcome == TurnOutcome.FALLBACK:
                out.append((row, UnansweredReason.FALLBACK))
            elif row.outcome == TurnOutcome.CLARIFY and row is last:
                out.append((row, UnansweredReason.CLARIFY_ABANDONED))
        return out


@dataclass
class Built:
    """The conversations that started in [start, end), and the follower messages sent in it."""

    start: datetime
    end: datetime
    conversations: list[Conversation]
    # (sent at, queue id of its conversation, intent) of each follower message in the window.
    messages: list[tuple[datetime, int | None, str]]


def is_follower_message(msg_type: str, event: str) -> bool:
    return msg_type != Message.Type.EVENT or event.lower() == "click"


def _rows(start: datetime, end: datetime, classifier: TurnClassifier) -> list[Row]:
    """Follower messages sent in [start, end) with the outcome of their passive reply."""
    text = Case(
        When(msg_type=Message.Type.VOICE, then=Substr("recognition", 1, TEXT_CHARS)),
        default=Substr("text", 1, TEXT_CHARS),
    )
    found = (
        Message.objects.filter(created_at__gte=start, created_at__lt=end + timedelta(minutes=1))
        .filter(
            Q(direction=Message.Direction.IN)
            | Q(channel=Message.Channel.PASSIVE, reply_to__isnull=False)
        )
        .annotate(short=text)
        .values_list(
            "id",
            "follower_id",
            "created_at",
            "direction",
            "msg_type",
            "event",
            "intent",
            "reply_to_id",
            "short",
        )
        .order_by()
    )
    rows: dict[int, Row] = {}
    replies: dict[int, str] = {}
    for pk, follower, at, direction, msg_type, event, intent, reply_to, short in found.iterator(
        chunk_size=5000
    ):
        if direction == Message.Direction.OUT:
            replies.setdefault(reply_to, short or "")
        elif at < end and is_follower_message(msg_type, event):
            rows[pk] = Row(pk, follower, at, intent or "", short or "")
    for pk, row in rows.items():
        reply = replies.get(pk)
        if reply is not None:
            row.outcome, row.entry = classifier.classify(reply)
    return sorted(rows.values(), key=lambda r: (r.follower_id, r.at, r.id))


def _sessions(rows: list[Row]) -> list[Conversation]:
    out: list[Conversation] = []
    current: Conversation | None = None
    for row in rows:
        if (
            current is None
            or current.follower_id != row.follower_id
            or row.at - current.rows[-1].at >= CONVERSATION_GAP
        ):
            current = Conversation(follower_id=row.follower_id, rows=[row])
            out.append(current)
        else:
            current.rows.append(row)
    return out


@dataclass(frozen=True)
class QueueRouting:
    by_intent: dict[str, int]
    default: int | None

    @classmethod
    def load(cls) -> QueueRouting:
        queues = list(Queue.objects.order_by("name").values("id", "categories", "is_default"))
        by_intent: dict[str, int] = {}
        for queue in queues:
            for category in queue["categories"] or []:
                by_intent.setdefault(category, queue["id"])
        default = next((q["id"] for q in queues if q["is_default"]), None)
        if default is None and queues:
            default = queues[0]["id"]
        return cls(by_intent, default)

    def queue_of(self, intent: str) -> int | None:
        """The queue a ticket of this intent would go to (tickets.services.queue_for_category)."""
        return self.by_intent.get(intent, self.default)


def _escalations(start: datetime, end: datetime, followers: set[int]):
    """Tickets opened in the window by these followers, and messages of theirs that joined one."""
    opened = list(
        Ticket.objects.filter(created_at__gte=start, created_at__lt=end).values_list(
            "id", "requester_ref", "created_at", "queue_id"
        )
    )
    refs = {ref for _, ref, _, _ in opened}
    by_openid = dict(Follower.objects.filter(openid__in=refs).values_list("openid", "id"))
    tickets = defaultdict(list)
    for pk, ref, at, queue in opened:
        follower = by_openid.get(ref)
        if follower in followers:
            tickets[follower].append((at, pk, queue))
    joins = {}
    joined = (
        TicketMessage.objects.filter(
            created_at__gte=start,
            created_at__lt=end,
            author_kind=TicketMessage.AuthorKind.USER,
            external_ref__startswith=_REF_PREFIX,
        )
        # A new ticket's copy of the conversation before it is not a join.
        .filter(created_at__gte=F("ticket__created_at"))
        .values_list("external_ref", "ticket_id", "ticket__queue_id")
    )
    for ref, ticket, queue in joined:
        tail = ref[len(_REF_PREFIX) :]
        if tail.isdigit():
            joins[int(tail)] = (ticket, queue)
    return tickets, joins


def build(
    *,
    start: datetime,
    end: datetime,
    classifier: TurnClassifier | None = None,
    now: datetime | None = None,
) -> Built:
    """Build the conversations that started in [start, end) and what they need."""
    now = now or timezone.now()
    classifier = classifier or TurnClassifier.from_live_kb()
    until = min(end + LOOKAHEAD, now + timedelta(minutes=1))
    rows = _rows(start - CONVERSATION_GAP, until, classifier)
    everything = _sessions(rows)
    followers = {c.follower_id for c in everything}
    tickets, joins = _escalations(start - CONVERSATION_GAP, until + CONVERSATION_GAP, followers)
    ratings = question_ratings_between(start=start - CONVERSATION_GAP, end=until)
    routing = QueueRouting.load()
    by_follower: dict[int, list[Conversation]] = defaultdict(list)
    for conversation in everything:
        by_follower[conversation.follower_id].append(conversation)
    for conversation in everything:
        _escalation_set(conversation, tickets.get(conversation.follower_id, ()), joins)
        conversation.rated = {r.id: ratings[r.id] for r in conversation.rows if r.id in ratings}
        conversation.rated_useless = False in conversation.rated.values()
        if conversation.queue_id is None:
            conversation.queue_id = routing.queue_of(conversation.main_intent)
    for conversations in by_follower.values():
        for n, conversation in enumerate(conversations):
            conversation.contained = _contained(conversation, conversations[n + 1 :])
    started = [c for c in everything if start <= c.started_at < end]
    queue_of_message = {r.id: c.queue_id for c in everything for r in c.rows}
    messages = [(r.at, queue_of_message[r.id], r.intent) for r in rows if start <= r.at < end]
    return Built(start=start, end=end, conversations=started, messages=messages)


def _escalation_set(conversation: Conversation, tickets, joins) -> None:
    opens, closes = conversation.started_at, conversation.ended_at + CONVERSATION_GAP
    for at, pk, queue in tickets:
        if opens <= at < closes:
            conversation.escalated, conversation.ticket_id, conversation.queue_id = True, pk, queue
            return
    for row in conversation.rows:
        if row.id in joins:
            ticket, queue = joins[row.id]
            conversation.escalated, conversation.ticket_id, conversation.queue_id = (
                True,
                ticket,
                queue,
            )
            return


def _contained(conversation: Conversation, later: list[Conversation]) -> bool:
    if conversation.escalated or conversation.rated_useless:
        return False
    if conversation.last_outcome != TurnOutcome.ANSWER:
        return False
    intent = conversation.topic_intent
    limit = conversation.ended_at + CONTAINMENT_WINDOW
    return not any(c.started_at <= limit and intent in c.intents for c in later)
