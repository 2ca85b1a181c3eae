"""The clause that asks (bot/nlu/clauses.py) and how it weighs in matching."""

import pytest

from bot.nlu.clauses import clause_spans, focus_span
from bot.nlu.matcher import classify_with


def _focus(text):
    span = focus_span(text)
    return text[span[0] : span[1]] if span else None


def test_clauses_split_on_punctuation_and_question_openers():
    text = "您好,我是会计,今天收到一张数电票请问校验码在哪"
    assert [text[s:e] for s, e in clause_spans(text)] == [
        "您好",
        "我是会计",
        "今天收到一张数电票",
        "请问校验码在哪",
    ]


@pytest.mark.parametrize(
    ("text", "focus"),
    [
        ("您好,我是会计,今天收到一张数电票,纸质发票的校验码在哪里看", "纸质发票的校验码在哪里看"),
        ("上个月开的专票客户已经抵扣了,现在发现金额错了,请问怎么红冲", "请问怎么红冲"),
        ("刚开的发票查不到", None),  # one clause
        ("发票作废了,客户要重开", None),  # no question word
    ],
)
def test_focus_is_the_asking_clause(text, focus):
    assert _focus(text) == (None if focus == text else focus)


def test_focus_of_a_bare_question_includes_its_subject():
    assert _focus("我是会计,发票显示作废了,请问怎么办") == "发票显示作废了,请问怎么办"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        # One surface word must not outweigh what is asked (issue #12).
        ("纸质发票的校验码在哪里看", "verify_invoice"),
        ("数电票的红字确认单怎么开", "void_red_status"),
        ("查验发票需要打印出来吗", "verify_invoice"),
        (
            "您好，我是一家小公司的会计，平时负责报销，今天同事给我一张数电票，"
            "请问纸质普票的校验码在哪里看",
            "verify_invoice",
        ),
        (
            "您好，我们上个月给客户开了一张专票，客户已经认证抵扣了，现在发现金额开错了，请问怎么红冲",
            "void_red_status",
        ),
        # A cause stated in the backstory still wins over a generic question.
        ("我在上海出差时酒店开的发票，回北京以后在电子税务局里查不到，正常吗", "cross_region"),
        ("昨天下午刚开的票，客户今天还是查不到，请问怎么回事", "sync_delay"),
    ],
)
def test_the_asking_clause_and_the_specific_cause_win(seed_index, text, intent):
    assert classify_with(seed_index, text).intent == intent
