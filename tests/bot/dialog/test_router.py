"""The router's chain: every hook's predicate is sound, and the decision composes them.

`turn_is_simple` stores a turn at once when no hook's `wants` holds, so a
predicate that says "no" while its act would have done something loses that
act for the follower. These tests run each act *without its guard* on turns its
predicate declines and check that it would have done nothing: no reply, no
change to the conversation state, no row written.
"""

import csv
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from bot.channels.wechat.inbound import inbound_message
from bot.conversations.models import Follower, Message
from bot.dialog import router
from bot.dialog.router import AFTER_NLU, Hook, turn_is_simple
from bot.dialog.state import ConversationState, Turn
from bot.nlu.services import NluReply
from bot.nlu.vocabulary import NluAction
from bot.simulator.envelope import message_fields
from tickets.models import Ticket, TicketMessage
from tickets.services import ticket_escalate

pytestmark = pytest.mark.django_db

HELDOUT = Path(__file__).resolve().parents[1] / "nlu" / "heldout.tsv"
# Texts around the invoice hook's edges: numbers, spoken numerals, quick replies, cancels.
EDGE_TEXTS = [
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
    return EDGE_TEXTS + texts[:120]


def _states() -> list[ConversationState]:
    """Empty, collecting an invoice, just checked one, a stashed date, an offer pending."""
    collecting = ConversationState()
    collecting.invoice_set({"fields": {"invoice_code": "011001900211"}, "done": False})
    checked = ConversationState()
    checked.invoice_set({"fields": {"invoice_number": "12345678"}, "done": True})
    stashed = ConversationState()
    stashed.invoice_set({"fields": {"issue_date": "2026-05-13"}, "done": False, "stashed": True})
    offered = ConversationState()
    offered.offer_set(True)
    states = [ConversationState(), collecting, checked, stashed, offered]
    for state in states:
        state.changed = False
    return states


def _turn(openid: str, text: str, *, state: ConversationState, quiet: bool | None) -> Turn:
    fields = message_fields(openid=openid, msg_type="text", Content=text)
    turn = Turn(inbound=inbound_message(fields=fields, raw=""), state=state, helpdesk_quiet=quiet)
    follower, _ = Follower.objects.get_or_create(openid=openid, defaults={"subscribed": True})
    turn.message = Message.objects.create(
        follower=follower,
        direction="in",
        msg_type="text",
        text=text,
        dedup_key=f"msg:{openid}:{Message.objects.count()}",
    )
    return turn


def _rows() -> tuple[int, int, int]:
    return Message.objects.count(), Ticket.objects.count(), TicketMessage.objects.count()


def _nlu(action: str, intent: str) -> NluReply:
    return NluReply(
        text="答复", intent=intent, score=1.0, action=action, quick_replies=[], candidates=[]
    )


def _copy(state: ConversationState) -> ConversationState:
    return ConversationState.from_cached(state.cached())


def test_a_simple_turn_is_answered_as_the_whole_chain_would_answer_it():
    """Whatever the decision calls simple, the full chain answers the same, doing nothing else."""
    simple = full = 0
    for text in _corpus():
        for state in _states():
            decided = Turn(
                inbound=inbound_message(
                    fields=message_fields(openid="o-chain", msg_type="text", Content=text), raw=""
                ),
                state=_copy(state),
                helpdesk_quiet=True,
            )
            if not turn_is_simple(decided):
                full += 1
                continue
            simple += 1
            chained = _turn("o-chain", text, state=_copy(state), quiet=True)
            rows = _rows()
            assert router.text_reply(chained) == decided.understood.text, text
            assert _rows() == rows, text
            parts = ("invoice", "offer", "nlu")
            assert [getattr(chained.state, p) for p in parts] == [
                getattr(decided.state, p) for p in parts
            ], text
    assert simple > 50 and full > 20  # both routes were exercised


def _ticket_for(openid: str) -> Ticket:
    return ticket_escalate(
        requester_ref=openid,
        requester_name="",
        category="human_agent",
        reason="asked",
        subject="s",
        text="t",
        external_ref=None,
        history=[],
        invoices=None,
        announce=False,
    ).ticket


def test_a_follower_with_an_active_ticket_is_never_simple():
    _ticket_for("o-busy")
    turn = _turn("o-busy", "发票查不到怎么办", state=ConversationState(), quiet=False)
    assert turn_is_simple(turn) is False
    # What the predicate protects: the message joins the ticket.
    assert router.text_reply(turn)
    assert TicketMessage.objects.filter(text="发票查不到怎么办").exists()


def test_a_resolved_ticket_inside_the_reopen_window_is_not_quiet():
    from bot.helpdesk.state import helpdesk_state_learn

    ticket = _ticket_for("o-resolved")
    Ticket.objects.filter(pk=ticket.pk).update(
        status=Ticket.Status.RESOLVED, resolved_at=timezone.now() - timedelta(days=1)
    )
    assert helpdesk_state_learn(openid="o-resolved") is False
    assert helpdesk_state_learn(openid="o-nobody") is True


def test_a_common_question_from_a_quiet_follower_is_simple():
    turn = _turn("o-simple", "发票查不到怎么办", state=ConversationState(), quiet=True)
    assert turn_is_simple(turn) is True
    assert turn.understood.action == NluAction.ANSWER


def test_a_hook_added_to_the_chain_is_seen_by_the_decision(monkeypatch):
    turn = _turn("o-new-hook", "发票查不到怎么办", state=ConversationState(), quiet=True)
    extra = Hook("test.always", lambda turn: True, lambda turn: "新的钩子")
    monkeypatch.setattr(router, "AFTER_NLU", (*AFTER_NLU, extra))
    assert turn_is_simple(turn) is False
    assert router.text_reply(turn) == "新的钩子"


def test_a_hook_without_a_predicate_cannot_be_registered():
    with pytest.raises(TypeError):
        Hook("test.no_predicate", None, lambda turn: None)
