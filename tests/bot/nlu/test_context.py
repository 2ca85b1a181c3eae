"""Conversation memory in the shared cache, and reading a reply to offered options."""

import pytest

from bot.nlu.context import (
    ConversationState,
    Option,
    context_clear,
    context_load,
    context_save,
    is_still_failing,
    is_what_now,
    pick_option,
)
from bot.nlu.normalize import normalise

STATE = ConversationState(
    options=[Option("新开的发票要多久才能查验", "sync_delay"), Option("转人工")]
)


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("1", "新开的发票要多久才能查验"),
        ("２", "转人工"),
        ("第二个", "转人工"),
        ("二", "转人工"),
        ("1.", "新开的发票要多久才能查验"),
        ("转人工", "转人工"),
        ("轉人工！", "转人工"),
    ],
)
def test_pick_option_by_number_or_label(text, label):
    option = pick_option(STATE, normalise(text))
    assert option is not None and option.label == label


@pytest.mark.parametrize("text", ["3", "0", "12", "一个问题", "", "我选1吧其实不对"])
def test_pick_option_ignores_anything_else(text):
    assert pick_option(STATE, normalise(text)) is None


def test_pick_option_needs_offered_options():
    assert pick_option(ConversationState(), "1") is None


def test_state_round_trips_through_the_cache(conversation):
    state = ConversationState(
        intent="info_mismatch", entry="mismatch_general", topic_text="不一致", misses=1
    )
    state.options = [Option("是专票")]
    context_save(conversation, state)
    assert context_load(conversation) == state
    context_clear(conversation)
    assert context_load(conversation) == ConversationState()


@pytest.mark.parametrize("text", ["还是不行", "试了还是不行", "照你说的做了没用", "还是查不到"])
def test_still_failing(text):
    assert is_still_failing(normalise(text))


@pytest.mark.parametrize("text", ["那怎么办", "那咋办", "然后呢", "接下来呢"])
def test_what_now(text):
    assert is_what_now(normalise(text))


@pytest.mark.parametrize("text", ["发票查不到怎么办", "外地开的发票北京查不到还是不行吗这是为什么"])
def test_full_questions_are_not_follow_ups(text):
    assert not is_what_now(normalise(text))
    assert not is_still_failing(normalise(text))


def test_context_lives_for_the_configured_time(conversation, settings, monkeypatch):
    from bot.nlu import context

    calls = []
    monkeypatch.setattr(context.cache, "set", lambda *a, **kw: calls.append(kw["timeout"]))
    settings.NLU_CONTEXT_TTL_SECONDS = 120
    context_save(conversation, ConversationState(intent="sync_delay"))
    assert calls == [120]


@pytest.mark.django_db
def test_a_short_new_question_is_not_swallowed_by_the_previous_topic(conversation):
    from bot.nlu.services import nlu_reply

    assert nlu_reply(conversation_key=conversation, text="我的工单").intent == "ticket_status"
    assert nlu_reply(conversation_key=conversation, text="发漂查不倒").intent == "invoice_not_found"


def test_as_dict_holds_every_field_as_dataclasses_would():
    import dataclasses

    from bot.nlu.context import ConversationState, Option

    state = ConversationState(
        intent="sync_delay",
        entry="sync_delay_1",
        topic_text="刚开的发票查不到",
        options=[Option(label="转人工"), Option(label="查验", entry="verify_1")],
        misses=1,
    )
    assert state.as_dict() == dataclasses.asdict(state)
    assert ConversationState.from_dict(state.as_dict()) == state
