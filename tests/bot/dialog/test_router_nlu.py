"""Free text and voice reach the NLU through /wechat/, as WeChat sends them."""

import pytest

from bot.conversations.models import Message
from bot.nlu.models import FaqEntry, ReplyTemplate
from bot.simulator.envelope import message_fields

pytestmark = pytest.mark.django_db


def say(wechat, openid: str, text: str) -> str:
    response = wechat.text(openid, text)
    assert response.status_code == 200
    reply = wechat.reply(response)
    assert reply is not None and reply["MsgType"] == "text"
    return reply["Content"]


def speak(wechat, openid: str, recognition: str) -> str:
    fields = message_fields(
        openid=openid, msg_type="voice", MediaId="media-1", Format="amr", Recognition=recognition
    )
    response = wechat.post(fields)
    assert response.status_code == 200
    reply = wechat.reply(response)
    assert reply is not None
    return reply["Content"]


def _answer(key: str) -> str:
    return FaqEntry.objects.get(key=key).answer


def test_typed_question_gets_the_kb_answer(wechat):
    content = say(wechat, "o-nlu-typed", "今天开的发票为什么查验不了")
    assert content.startswith(_answer("sync_delay"))
    assert "1. 明天帮我复查" in content
    inbound = Message.objects.get(follower__openid="o-nlu-typed", direction=Message.Direction.IN)
    assert inbound.intent == "sync_delay"


def test_typed_question_in_traditional_full_width_with_emoji(wechat):
    content = say(wechat, "o-nlu-trad", "發票顯示已作廢😭怎麼辦？？")
    assert content.startswith(_answer("void_red"))


def test_voice_recognition_text_goes_through_the_same_pipeline(wechat):
    content = speak(wechat, "o-nlu-voice", "那个我在外地开的发票回北京以后查不到怎么办")
    assert content.startswith(_answer("cross_region"))
    inbound = Message.objects.get(follower__openid="o-nlu-voice", direction=Message.Direction.IN)
    assert (inbound.msg_type, inbound.intent) == (Message.Type.VOICE, "cross_region")


def test_voice_without_recognition_is_asked_to_type(wechat):
    content = speak(wechat, "o-nlu-mute", "")
    assert "文字" in content
    assert not content.startswith(ReplyTemplate.objects.get(key="oos").text)


def test_grey_zone_then_a_number_picks_the_option(wechat):
    question = say(wechat, "o-nlu-grey", "查发票")
    assert question.startswith("您是想问")
    first_option = question.split("1. ", 1)[1].splitlines()[0].strip()
    entry = FaqEntry.objects.get(question=first_option)
    content = say(wechat, "o-nlu-grey", "1")
    assert content.startswith(entry.answer)


def test_context_carries_across_messages(wechat):
    say(wechat, "o-nlu-ctx", "查验的时候提示不一致")
    content = say(wechat, "o-nlu-ctx", "是专票")
    assert content.startswith(_answer("mismatch_special"))
    content = say(wechat, "o-nlu-ctx", "还是不行")
    assert content.startswith(ReplyTemplate.objects.get(key="still_unsolved").text)


def test_two_misses_in_a_row_offer_a_human(wechat):
    first = say(wechat, "o-nlu-miss", "今天天气怎么样")
    assert first.startswith(FaqEntry.objects.get(key="oos_chitchat").answer)
    second = say(wechat, "o-nlu-miss", "给我讲个笑话")
    assert second.startswith(ReplyTemplate.objects.get(key="offer_human").text)
    assert "转人工" in second


def test_bad_input_gets_a_reply_not_an_error(wechat):
    for text in ["😀😀", "？？？", "\u200b", "a" * 5000]:
        assert say(wechat, "o-nlu-bad", text).strip()


@pytest.mark.parametrize(
    ("key", "question"),
    [("NOT_FOUND_HELP", "发票查不到怎么办"), ("DIGITAL_HELP", "数电票怎么查验")],
)
def test_a_menu_click_answers_as_the_typed_question_does(wechat, key, question):
    clicked = wechat.reply(wechat.event("o-menu-click", "CLICK", key))["Content"]
    typed = say(wechat, "o-menu-typed", question)
    assert clicked == typed
    # The click set the topic, as the typed question does: a follow-up is understood.
    follow_up = say(wechat, "o-menu-click", "还是不行")
    assert follow_up == say(wechat, "o-menu-typed", "还是不行")
