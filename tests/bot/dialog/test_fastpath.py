"""The fast path's decision, and its predicates pinned to the hooks they stand for.

The predicates in bot/dialog/fastpath.py copy conditions of the router's hooks
(helpdesk.py, invoice_turn.py). These tests run the hooks themselves on the same
input and check that the predicate says "idle" exactly when the hook does nothing,
so a change to a hook that the fast path would miss fails here.
"""

import csv
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.cache import cache
from django.utils import timezone

from bot.dialog import fastpath, helpdesk, invoice_turn, router
from bot.dialog.fastpath import (
    Decision,
    fastpath_decide,
    fastpath_keys,
    helpdesk_after_nlu_is_idle,
    invoice_after_nlu_is_idle,
    invoice_turn_is_idle,
)
from bot.dialog.helpdesk_state import (
    DIRTY,
    QUIET,
    helpdesk_state_forget,
    helpdesk_state_learn,
    quiet_key,
)
from bot.nlu.loader import current_index
from bot.nlu.services import EMPTY, OFFER_HUMAN, NluReply
from bot.wechat.models import Follower, Message
from tickets.models import Ticket, TicketMessage
from tickets.services import ticket_escalate

pytestmark = pytest.mark.django_db

HELDOUT = Path(__file__).resolve().parents[1] / "nlu" / "heldout.tsv"
ACTIONS = ("answer", "clarify", "oos", OFFER_HUMAN, EMPTY)
# Texts around the invoice hook's edges: numbers, spoken numerals, quick replies, cancels.
INVOICE_EDGE_TEXTS = [
    "",
    "1",
    " 12 ",
    "123",
    "5",
    "五星",
    "取消",
    "算了",
    "算了吧",
    "不查了",
    "取消。",
    "发票号码12345678",
    "代码011001900211 号码12345678",
    "五月十三日开的票查不到",
    "金额一百二十元",
    "一二三四五六七八",
    "０１１００１９００２１１",
    "今天开的发票为什么查验不了",
    "你好",
    "😀😀",
    "发票显示已作废怎么办？",
]


def _corpus() -> list[str]:
    with HELDOUT.open(encoding="utf-8") as f:
        texts = [row["text"] for row in csv.DictReader(f, delimiter="\t")]
    return INVOICE_EDGE_TEXTS + texts[:150]


class RecordingCache:
    """The real cache, with every command a module makes written down."""

    def __init__(self):
        self.calls: list[str] = []

    def __getattr__(self, name):
        target = getattr(cache, name)

        def call(*args, **kwargs):
            self.calls.append(name)
            return target(*args, **kwargs)

        return call

    @property
    def writes(self) -> list[str]:
        return [c for c in self.calls if c in ("set", "add", "incr", "set_many", "touch")]


def _message(openid: str, text: str = "x") -> Message:
    follower = Follower.objects.create(openid=openid, subscribed=True)
    return Message.objects.create(
        follower=follower, direction="in", msg_type="text", text=text, dedup_key=f"msg:{openid}:1"
    )


def _intents() -> list[str]:
    known = {entry.intent for entry in current_index().entries}
    return sorted(known | {"oos", "ticket_status", "human_agent", "complaint", "verify_invoice"})


def _nlu(action: str, intent: str) -> NluReply:
    return NluReply(
        text="答复", intent=intent, score=1.0, action=action, quick_replies=[], candidates=[]
    )


# --- pins: predicate == hook ------------------------------------------------------------


def test_invoice_turn_predicate_matches_the_hook(monkeypatch):
    message = _message("o-pin-invoice")
    spy = RecordingCache()
    monkeypatch.setattr(invoice_turn, "cache", spy)
    idle_seen = busy_seen = 0
    for text in _corpus():
        spy.calls.clear()
        reply = invoice_turn.invoice_turn(message=message, text=text)
        if invoice_turn_is_idle(text):
            idle_seen += 1
            assert reply is None and spy.calls == [], text
        else:
            busy_seen += 1
            assert "get" in spy.calls, text  # it reads its state: the fast path must not skip it
        cache.clear()
    assert idle_seen > 50 and busy_seen > 8


@pytest.mark.parametrize("action", ACTIONS)
def test_helpdesk_after_nlu_predicate_matches_the_hook_for_a_quiet_follower(monkeypatch, action):
    spy = RecordingCache()
    monkeypatch.setattr(helpdesk, "cache", spy)
    for n, intent in enumerate(_intents()):
        message = _message(f"o-pin-hd-{action}-{n}")
        tickets, notes = Ticket.objects.count(), TicketMessage.objects.count()
        spy.calls.clear()
        nlu = _nlu(action, intent)
        reply = helpdesk.helpdesk_after_nlu(message=message, nlu=nlu)
        acted = (
            reply is not None
            or spy.writes != []
            or (Ticket.objects.count(), TicketMessage.objects.count()) != (tickets, notes)
        )
        assert acted == (not helpdesk_after_nlu_is_idle(nlu)), (action, intent)


@pytest.mark.parametrize("action", ACTIONS)
def test_invoice_after_nlu_predicate_matches_the_hook(monkeypatch, action):
    message = _message(f"o-pin-inv-{action}")
    spy = RecordingCache()
    monkeypatch.setattr(invoice_turn, "cache", spy)
    for intent in _intents():
        spy.calls.clear()
        nlu = _nlu(action, intent)
        reply = invoice_turn.invoice_after_nlu(message=message, nlu=nlu)
        acted = reply is not None or spy.calls != []
        assert acted == (not invoice_after_nlu_is_idle(nlu)), (action, intent)
        cache.clear()


@pytest.mark.parametrize("text", ["5", "五星", "3分", "你好", "发票查不到"])
def test_helpdesk_turn_does_nothing_for_a_follower_learnt_quiet(text):
    message = _message(f"o-pin-turn-{text}")
    assert helpdesk_state_learn(openid=message.follower.openid)
    assert helpdesk.helpdesk_turn(message=message, text=text) is None
    assert not Ticket.objects.exists() and not TicketMessage.objects.exists()


# --- the help-desk state ----------------------------------------------------------------


def _ticket(openid: str) -> Ticket:
    return ticket_escalate(
        requester_ref=openid,
        category="human_agent",
        reason="asked",
        text="帮我看看",
        announce=False,
    ).ticket


def test_learn_marks_a_follower_without_tickets_quiet():
    assert helpdesk_state_learn(openid="o-state-quiet")
    assert cache.get(quiet_key("o-state-quiet")) == QUIET


def test_learn_refuses_a_follower_with_an_active_ticket():
    _ticket("o-state-active")
    cache.delete(quiet_key("o-state-active"))  # as if the change were long ago
    assert not helpdesk_state_learn(openid="o-state-active")
    assert cache.get(quiet_key("o-state-active")) == DIRTY  # not checked again for a while


def test_learn_refuses_a_follower_whose_ticket_was_just_resolved():
    ticket = _ticket("o-state-resolved")
    Ticket.objects.filter(pk=ticket.pk).update(
        status=Ticket.Status.RESOLVED, resolved_at=timezone.now() - timedelta(hours=1)
    )
    cache.delete(quiet_key("o-state-resolved"))  # as if the change were long ago
    assert not helpdesk_state_learn(openid="o-state-resolved")
    assert cache.get(quiet_key("o-state-resolved")) == DIRTY


def test_forget_overrides_quiet_and_blocks_a_learn_that_read_the_database_before():
    assert helpdesk_state_learn(openid="o-state-forget")
    helpdesk_state_forget("o-state-forget")
    assert cache.get(quiet_key("o-state-forget")) == DIRTY
    # A learn racing with the change (its database check saw no ticket) cannot set it back.
    helpdesk_state_learn(openid="o-state-forget")
    assert cache.get(quiet_key("o-state-forget")) == DIRTY


# --- the decision -----------------------------------------------------------------------


@pytest.fixture
def nlu_calls(monkeypatch):
    calls = []
    real = fastpath.nlu_understand

    def counting(**kwargs):
        calls.append(kwargs["text"])
        return real(**kwargs)

    monkeypatch.setattr(fastpath, "nlu_understand", counting)
    return calls


def _decide(*, openid: str, text: str) -> Decision:
    """What the webhook does: read the keys (with its claim), then decide."""
    keys = fastpath_keys(openid=openid, text=text)
    return fastpath_decide(
        openid=openid, text=text, found=None if keys is None else cache.get_many(keys)
    )


def test_unknown_follower_takes_the_full_path_and_should_learn(nlu_calls):
    decision = _decide(openid="o-dec-new", text="今天开的发票为什么查验不了")
    assert (decision.fast, decision.understood, decision.learn) == (False, None, True)
    assert nlu_calls == []


def test_quiet_follower_with_a_kb_question_takes_the_fast_path(nlu_calls):
    helpdesk_state_learn(openid="o-dec-quiet")
    decision = _decide(openid="o-dec-quiet", text="今天开的发票为什么查验不了")
    assert decision.fast and not decision.learn
    assert decision.understood.intent == "sync_delay"
    assert nlu_calls == ["今天开的发票为什么查验不了"]


def test_invoice_digits_never_take_the_fast_path(nlu_calls):
    helpdesk_state_learn(openid="o-dec-digits")
    decision = _decide(openid="o-dec-digits", text="发票号码12345678查不到")
    assert not decision.fast and decision.understood is None
    assert nlu_calls == []


def test_a_dirty_follower_takes_the_full_path_without_learning(nlu_calls):
    helpdesk_state_forget("o-dec-dirty")
    decision = _decide(openid="o-dec-dirty", text="今天开的发票为什么查验不了")
    assert (decision.fast, decision.learn) == (False, False)


def test_a_pending_offer_of_a_person_takes_the_full_path(nlu_calls):
    helpdesk_state_learn(openid="o-dec-offer")
    cache.set(helpdesk._offer_key("o-dec-offer"), 1, timeout=60)
    decision = _decide(openid="o-dec-offer", text="今天开的发票为什么查验不了")
    assert not decision.fast and nlu_calls == []


def test_an_intent_the_help_desk_acts_on_goes_to_the_full_path_with_the_nlu_reply(nlu_calls):
    helpdesk_state_learn(openid="o-dec-human")
    decision = _decide(openid="o-dec-human", text="转人工")
    assert not decision.fast
    assert decision.understood is not None and decision.understood.intent == "human_agent"


def test_router_reuses_a_given_nlu_reply(monkeypatch):
    message = _message("o-router-given", text="今天开的发票为什么查验不了")

    def must_not_run(**kwargs):
        raise AssertionError("the NLU ran twice")

    monkeypatch.setattr(router, "nlu_reply", must_not_run)
    given = _nlu("answer", "sync_delay")
    assert router.text_reply(message=message, text=message.text, understood=given) == "答复"
    message.refresh_from_db()
    assert message.intent == "sync_delay"
