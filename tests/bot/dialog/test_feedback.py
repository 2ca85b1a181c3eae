"""Answer ratings and suggestions in the dialog, through /wechat/ as WeChat sends them.

有用 / 没用 are words, never digits: a bare 1 or 2 still picks the NLU's numbered option
and a bare 5 still scores a resolved ticket.
"""

import csv
from pathlib import Path

import pytest
from django.core.cache import cache
from django.template.loader import render_to_string

from bot.channels.wechat.inbound import inbound_message
from bot.conversations.models import Follower, Message
from bot.dialog import router
from bot.dialog.hooks import feedback
from bot.dialog.state import ConversationState, Turn, state_key
from bot.feedback.models import AnswerRating, Suggestion
from bot.nlu.context import ConversationState as NluContext
from bot.nlu.models import FaqEntry
from bot.simulator.envelope import message_fields
from tickets import services
from tickets.models import AgentProfile, Queue, Ticket

pytestmark = pytest.mark.django_db

QUESTION = "今天开的发票为什么查验不了"  # sync_delay, with numbered options
ASK = render_to_string("bot/replies/feedback_ask.txt").strip()
HELDOUT = Path(__file__).resolve().parents[1] / "nlu" / "heldout.tsv"


@pytest.fixture(autouse=True)
def wechat_backend(settings):
    settings.TICKETS_NOTIFY_BACKEND = "bot.helpdesk.backend.WeChatTicketBackend"


@pytest.fixture
def asking(settings):
    settings.FEEDBACK_ASK_SHARE = 1.0


def say(wechat, openid, text):
    response = wechat.text(openid, text)
    assert response.status_code == 200
    reply = wechat.reply(response)
    return reply["Content"] if reply else ""


def _answer(key: str) -> str:
    return FaqEntry.objects.get(key=key).answer


def _state(openid) -> ConversationState:
    return ConversationState.from_cached(cache.get(state_key(openid)))


def test_a_prompted_answer_is_rated_useful_once_per_answer(wechat, asking):
    answer = say(wechat, "o-fb-1", QUESTION)
    assert answer.startswith(_answer("sync_delay")) and answer.endswith(ASK)
    assert "1. 明天帮我复查" in answer  # the options are still there, numbered
    assert _state("o-fb-1").feedback["entry"] == "sync_delay"
    thanks = say(wechat, "o-fb-1", "有用")
    assert thanks == render_to_string("bot/replies/feedback_useful.txt").strip()
    rating = AnswerRating.objects.get()
    assert (rating.entry_key, rating.useful, rating.prompted) == ("sync_delay", True, True)
    assert rating.answer.text == answer and rating.question.text == QUESTION
    # Changing one's mind changes the rating; it is still one rating of that answer.
    say(wechat, "o-fb-1", "没用")
    rating.refresh_from_db()
    assert AnswerRating.objects.count() == 1 and rating.useful is False


def test_the_prompt_is_asked_once_per_conversation(wechat, asking):
    assert say(wechat, "o-fb-2", QUESTION).endswith(ASK)
    second = say(wechat, "o-fb-2", "发票显示作废或红冲怎么办")
    assert second.startswith(_answer("void_red")) and ASK not in second


@pytest.mark.parametrize(
    "text", ["你好", "谢谢", "转人工", "今天天气怎么样", "建议查验页面做得简单点"]
)
def test_no_prompt_under_small_talk_hand_overs_misses_or_suggestions(wechat, asking, text):
    assert ASK not in say(wechat, "o-fb-3", text)


def test_no_prompt_by_default(wechat):
    assert ASK not in say(wechat, "o-fb-4", QUESTION)


def test_a_digit_after_a_prompted_answer_picks_the_option_not_a_rating(wechat, asking):
    say(wechat, "o-fb-5", QUESTION)
    picked = say(wechat, "o-fb-5", "2")  # 2. 发送发票信息
    assert not AnswerRating.objects.exists()
    assert picked and picked != render_to_string("bot/replies/feedback_useful.txt").strip()


def test_a_score_for_a_resolved_ticket_is_still_a_satisfaction_score(
    wechat, asking, django_user_model
):
    user = django_user_model.objects.create_user("agent-fb", password="pw", is_staff=True)
    AgentProfile.objects.create(user=user, on_duty=True).queues.set(Queue.objects.all())
    say(wechat, "o-fb-6", "转人工")
    ticket = Ticket.objects.get(requester_ref="o-fb-6")
    services.ticket_status_change(ticket=ticket, status="resolved", actor=user)
    say(wechat, "o-fb-6", "5")
    ticket.refresh_from_db()
    assert ticket.satisfaction == 5 and not AnswerRating.objects.exists()


def test_useless_offers_to_say_it_otherwise_or_a_person(wechat):
    say(wechat, "o-fb-7", "发票显示作废或红冲怎么办")  # unprompted: a rating all the same
    reply = say(wechat, "o-fb-7", "没用")
    assert reply == render_to_string("bot/replies/feedback_useless.txt").strip()
    rating = AnswerRating.objects.get()
    assert (rating.entry_key, rating.useful, rating.prompted) == ("void_red", False, False)
    assert _state("o-fb-7").offer is True  # one more miss reaches a person
    escalated = say(wechat, "o-fb-7", "给我讲个笑话")
    assert Ticket.objects.get(requester_ref="o-fb-7").number in escalated


def test_a_rating_word_without_an_answer_before_it_is_the_nlus(wechat):
    reply = say(wechat, "o-fb-8", "没用")
    assert not AnswerRating.objects.exists()
    assert reply != render_to_string("bot/replies/feedback_useless.txt").strip()


def test_a_suggestion_goes_to_the_inbox_and_the_follower_is_thanked(wechat):
    reply = say(wechat, "o-fb-9", "建议查验页面做得简单点")
    assert reply.startswith(_answer("feedback"))  # 感谢您的建议！…
    suggestion = Suggestion.objects.get()
    assert (suggestion.text, suggestion.status, suggestion.follower.openid) == (
        "建议查验页面做得简单点",
        "new",
        "o-fb-9",
    )
    # WeChat retries the delivery: still one suggestion.
    fields = message_fields(openid="o-fb-9", msg_type="text", Content="希望能增加发票到期提醒")
    wechat.post(fields)
    wechat.post(fields)
    assert Suggestion.objects.count() == 2


# -- the predicates are sound: declined, an act would have done nothing ---------------
def _texts() -> list[str]:
    with HELDOUT.open(encoding="utf-8") as f:
        texts = [row["text"] for row in csv.DictReader(f, delimiter="\t")]
    return ["有用", "没用", "1", "5", "你好", "建议加个视频教程", QUESTION, *texts[:60]]


def _states() -> list[ConversationState]:
    asked = ConversationState()
    asked.feedback_set({"entry": "sync_delay", "question": 1})
    topic = ConversationState()
    topic.nlu_apply(
        context=NluContext(intent="sync_delay", entry="sync_delay", topic_text=QUESTION),
        forget=False,
    )
    return [ConversationState(), asked, topic]


def _turn(text: str, state: ConversationState) -> Turn:
    fields = message_fields(openid="o-fb-sound", msg_type="text", Content=text)
    turn = Turn(inbound=inbound_message(fields=fields, raw=""), state=state, helpdesk_quiet=True)
    follower, _ = Follower.objects.get_or_create(openid="o-fb-sound")
    turn.message = Message.objects.create(
        follower=follower, direction="in", msg_type="text", text=text,
        dedup_key=f"msg:o-fb-sound:{Message.objects.count()}",
    )  # fmt: skip
    return turn


def test_declined_feedback_hooks_would_have_done_nothing(settings):
    settings.FEEDBACK_ASK_SHARE = 0.0
    hooks = [
        (feedback.rate_wants, feedback.rate_act, False),
        (feedback.suggestion_wants, feedback.suggestion_act, True),
        (feedback.ask_wants, feedback.ask_act, True),
    ]
    declined = 0
    for text in _texts():
        for state in _states():
            for wants, act, after_nlu in hooks:
                turn = _turn(text, ConversationState.from_cached(state.cached()))
                if after_nlu:
                    router.understand(turn)
                if wants(turn):
                    continue
                declined += 1
                before = (AnswerRating.objects.count(), Suggestion.objects.count())
                kept = turn.state.cached()
                assert act(turn) is None, text
                assert (AnswerRating.objects.count(), Suggestion.objects.count()) == before, text
                assert turn.state.cached() == kept, text
    assert declined > 100
