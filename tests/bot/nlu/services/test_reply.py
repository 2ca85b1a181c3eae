"""`nlu_reply`: answers, the grey zone, out of scope, misses, context and bad input."""

import pytest

from bot.nlu.models import FaqEntry, ReplyTemplate
from bot.nlu.services import OFFER_HUMAN, kb_object_save, nlu_reply

pytestmark = pytest.mark.django_db


def _answer(key: str) -> str:
    return FaqEntry.objects.get(key=key).answer


def test_a_typed_question_gets_the_kb_answer_and_its_next_steps(conversation):
    r = nlu_reply(conversation_key=conversation, text="今天开的发票为啥查不到呀")
    assert (r.action, r.intent) == ("answer", "sync_delay")
    assert r.text.startswith(_answer("sync_delay"))
    assert r.quick_replies == FaqEntry.objects.get(key="sync_delay").quick_reply_list
    assert "1. 明天帮我复查" in r.text


def test_voice_recognition_text_without_punctuation(conversation):
    text = "嗯那个我昨天下午开的发票今天还是查不到是不是还没同步啊"
    r = nlu_reply(conversation_key=conversation, text=text)
    assert (r.action, r.intent) == ("answer", "sync_delay")


def test_grey_zone_asks_and_a_number_picks_the_option(conversation):
    r = nlu_reply(conversation_key=conversation, text="查发票")
    assert r.action == "clarify"
    assert r.text.startswith("您是想问")
    assert 2 <= len(r.quick_replies) <= 3
    intents = [intent for intent, _score in r.candidates[: len(r.quick_replies)]]
    for n, label in enumerate(r.quick_replies, 1):
        assert f"{n}. {label}" in r.text
    picked = nlu_reply(conversation_key=conversation, text="２")
    assert picked.action == "answer"
    assert picked.intent == intents[1]
    entry = FaqEntry.objects.get(question=r.quick_replies[1])
    assert picked.text.startswith(entry.answer)


def test_grey_zone_option_can_be_chosen_by_its_words(conversation):
    r = nlu_reply(conversation_key=conversation, text="开票")
    assert r.action == "clarify"
    picked = nlu_reply(conversation_key=conversation, text=r.quick_replies[0])
    assert picked.action == "answer"
    assert picked.text.startswith(FaqEntry.objects.get(question=r.quick_replies[0]).answer)


def test_a_number_without_offered_options_is_not_a_choice(conversation):
    r = nlu_reply(conversation_key=conversation, text="2")
    assert r.action != "answer"


def test_out_of_scope_then_a_human_after_two_misses_in_a_row(conversation):
    first = nlu_reply(conversation_key=conversation, text="今天天气怎么样")
    assert (first.action, first.intent) == ("oos", "oos")
    second = nlu_reply(conversation_key=conversation, text="帮我推荐个餐厅")
    assert second.action == OFFER_HUMAN
    assert second.text == ReplyTemplate.objects.get(key="offer_human").text
    assert second.quick_replies == ["转人工"]
    # The offer's quick reply works by number.
    chosen = nlu_reply(conversation_key=conversation, text="1")
    assert (chosen.action, chosen.intent) == ("answer", "human_agent")


def test_an_understood_message_resets_the_misses(conversation):
    nlu_reply(conversation_key=conversation, text="今天天气怎么样")
    nlu_reply(conversation_key=conversation, text="发票作废了怎么办")
    again = nlu_reply(conversation_key=conversation, text="讲个笑话吧")
    assert again.action == "oos"


def test_follow_up_what_now_continues_the_topic(conversation):
    nlu_reply(conversation_key=conversation, text="外地开的发票北京查不到")
    r = nlu_reply(conversation_key=conversation, text="那怎么办")
    assert (r.action, r.intent) == ("answer", "cross_region")
    assert r.text.startswith(_answer("cross_region"))


def test_still_failing_offers_the_next_step(conversation):
    nlu_reply(conversation_key=conversation, text="查验提示信息不一致")
    r = nlu_reply(conversation_key=conversation, text="还是不行")
    assert r.intent == "info_mismatch"
    assert r.text.startswith(ReplyTemplate.objects.get(key="still_unsolved").text)
    assert r.quick_replies == ["发送发票信息", "转人工"]


def test_still_failing_without_a_topic_is_not_a_follow_up(conversation):
    r = nlu_reply(conversation_key=conversation, text="还是不行")
    assert not r.text.startswith(ReplyTemplate.objects.get(key="still_unsolved").text)


def test_a_detail_refines_the_topic(conversation):
    nlu_reply(conversation_key=conversation, text="查验老是说不一致")
    r = nlu_reply(conversation_key=conversation, text="是专票")
    assert (r.action, r.intent) == ("answer", "info_mismatch")
    assert r.text.startswith(_answer("mismatch_special"))
    r = nlu_reply(conversation_key=conversation, text="那怎么办")
    assert r.text.startswith(_answer("mismatch_special"))


def test_thanks_ends_the_topic(conversation):
    nlu_reply(conversation_key=conversation, text="外地开的发票北京查不到")
    assert nlu_reply(conversation_key=conversation, text="好的谢谢").intent == "thanks_bye"
    r = nlu_reply(conversation_key=conversation, text="那怎么办")
    assert r.intent != "cross_region"


def test_conversations_do_not_share_context(conversation):
    nlu_reply(conversation_key=conversation, text="外地开的发票北京查不到")
    r = nlu_reply(conversation_key=conversation + "-other", text="那怎么办")
    assert r.intent != "cross_region"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "😀😀😀",
        "？？？！！！",
        "……。。、、",
        "\x00\x01\x02\x7f",
        "[微笑][微笑]",
    ],
)
def test_messages_without_words_get_the_please_type_reply(conversation, text):
    r = nlu_reply(conversation_key=conversation, text=text)
    assert r.text == ReplyTemplate.objects.get(key="empty").text
    assert (r.action, r.intent) == ("empty", "oos")


def test_an_empty_message_is_not_a_miss(conversation):
    nlu_reply(conversation_key=conversation, text="今天天气怎么样")
    nlu_reply(conversation_key=conversation, text="😀")
    assert nlu_reply(conversation_key=conversation, text="讲个笑话吧").action == OFFER_HUMAN


@pytest.mark.parametrize(
    "text",
    [
        "a" * 10_000,
        "发票" * 5_000,
        "你好" + "啊" * 9_000 + "发票作废了怎么办",
        "ЖЖЖ مرحبا こんにちは 发票 查不到",
        "\ud800broken 发票",
        "{options} {0} %s",
        None,
        12345,
    ],
)
def test_bad_input_gets_a_sensible_reply(conversation, text):
    r = nlu_reply(conversation_key=conversation, text=text)
    assert r.text.strip()
    assert r.action in {"answer", "clarify", "oos", OFFER_HUMAN, "empty"}


def test_long_message_keeps_its_question_at_the_end(conversation):
    text = "你好，" + "我们公司上个月采购了一批办公用品，" * 40 + "发票作废了怎么办"
    r = nlu_reply(conversation_key=conversation, text=text)
    assert (r.action, r.intent) == ("answer", "void_red_status")


def test_system_replies_with_braces_edited_in_admin_do_not_break(conversation):
    clarify = ReplyTemplate.objects.get(key="clarify")
    clarify.text = "您是想问{哪个}吗？{0}"
    kb_object_save(obj=clarify)
    r = nlu_reply(conversation_key=conversation, text="查发票")
    assert r.action == "clarify"
    assert r.text.startswith("您是想问{哪个}吗？{0}")
    assert r.quick_replies[0] in r.text


def test_a_warm_reply_does_not_touch_the_database(conversation, django_assert_num_queries):
    nlu_reply(conversation_key=conversation, text="发票查不到")
    with django_assert_num_queries(0):
        nlu_reply(conversation_key=conversation, text="刚开的发票查不到")


@pytest.mark.parametrize("pick", ["1", "明天帮我复查"])
def test_a_picked_option_is_named_in_the_reply(conversation, pick):
    offered = nlu_reply(conversation_key=conversation, text="今天开的发票为啥查不到呀")
    assert offered.choice == "" and offered.quick_replies[0] == "明天帮我复查"
    picked = nlu_reply(conversation_key=conversation, text=pick)
    assert picked.choice == "明天帮我复查"


def test_a_message_that_picks_nothing_has_no_choice(conversation):
    nlu_reply(conversation_key=conversation, text="今天开的发票为啥查不到呀")
    assert nlu_reply(conversation_key=conversation, text="发票显示已作废怎么办").choice == ""
