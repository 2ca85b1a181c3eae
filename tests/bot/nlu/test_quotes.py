"""Known platform messages quoted by users (bot/nlu/quotes.py, keyword kind `message`)."""

import pytest

from bot.nlu.kbindex import KbIndex
from bot.nlu.matcher import classify_with
from bot.nlu.quotes import MessageTable, compact


def test_compact_drops_punctuation_and_spaces():
    assert compact("超过该张发票当日查验次数(请于次日再次查验)") == (
        "超过该张发票当日查验次数请于次日再次查验"
    )


def test_messages_are_found_verbatim_or_retyped():
    table = MessageTable([("超过该张发票当日查验次数", 0), ("未查询到您与该企业的关联关系", 1)])
    assert table.find(compact("提示超过该张发票当日查验次数怎么办")) == {0: 1.0}
    retyped = table.find(compact("登录时说未查询到你与该企业的关联关系"))  # 您 → 你
    assert set(retyped) == {1} and 0.84 <= retyped[1] < 1.0
    assert table.find(compact("发票查不到怎么办")) == {}
    assert table.find("") == {}


def test_short_messages_only_match_verbatim():
    table = MessageTable([("已作废", 0)])
    assert table.find("显示已作废") == {0: 1.0}
    assert table.find("显示已作费") == {}


def _kb(weight):
    return KbIndex.build(
        {
            "intents": [{"id": i, "name": i, "description": ""} for i in ("limit", "other", "oos")],
            "entries": [
                {"key": "l", "intent": "limit", "question": "次数超限", "answer": "L"},
                {"key": "o", "intent": "other", "question": "其他问题", "answer": "O"},
            ],
            "keywords": [
                {
                    "word": "超过该张发票当日查验次数",
                    "weight": weight,
                    "kind": "message",
                    "intent": "limit",
                },
            ],
        }
    )


def test_a_quoted_message_scores_its_intent_wherever_it_stands():
    kb = _kb(2.0)
    text = "我下午帮同事查了一张发票，系统说“超过该张发票当日查验次数”，还有一些别的事情想问"
    c = classify_with(kb, text)
    assert (c.intent, c.action) == ("limit", "answer")
    assert "超过该张发票当日查验次数" in c.matched_keywords
    # Message keywords are not plain keywords: the trie and the scan leave them alone.
    assert kb.matching_keywords(c.analysis.canonical, frozenset()) == set()


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("开票的时候提示“可用授信额度不足”", "issuing_problem"),
        ("登录电子税务局提示：未查询到您与该企业的关联关系", "system_outage"),
        ("查验时页面显示超过该张发票当日查验次数，请于次日再次查验", "check_limit"),
        ("FailedOperation.CountLimitError", "check_limit"),
        ("接口返回 ResourceNotFound.NoInvoice 是什么意思", "invoice_not_found"),
    ],
)
def test_seed_kb_recognises_platform_messages(seed_index, text, intent):
    assert classify_with(seed_index, text).intent == intent
