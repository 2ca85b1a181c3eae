"""Only the regexes that can match a text run (bot/nlu/regexscan.py)."""

import re

import pytest

from bot.nlu.evaluation import read_tsv
from bot.nlu.regexscan import RegexScan, required_char_sets, required_chars

from .test_seed import EVAL_FILES


@pytest.mark.parametrize(
    ("pattern", "chars"),
    [
        ("发票", {"发"}),
        ("(发票|票)(怎么|如何)", {"发", "票"}),
        ("(票|张)(怎么|如何)(查|验)", {"票", "张"}),
        ("^(?!.*(查|验)).*(下载|pdf)", {"下", "p"}),
        ("[0-9]开头", {"开"}),
        ("x?y+", {"y"}),
        (".{18,}", None),
        (r"(^|\D)50[0-4](\D|$)", {"5"}),
        ("(?i)ABC", None),
        ("a|.", None),
    ],
)
def test_required_chars(pattern, chars):
    found = required_chars(pattern)
    assert (found if found is None else set(found)) == chars


@pytest.mark.parametrize(
    ("pattern", "sets"),
    [
        ("(系统|平台).{0,8}(没有|没)", [{"没"}, {"系", "平"}]),
        ("(?:(查验|验真).{0,4})单位", [{"单"}, {"位"}, {"查", "验"}]),
        ("^(?!.*(数电|全电)).*(填|输)金额", [{"金"}, {"额"}, {"填", "输"}]),
        ("x?y", [{"y"}]),
        (".{18,}", []),
    ],
)
def test_required_char_sets(pattern, sets):
    assert [set(s) for s in required_char_sets(pattern)] == sets


def test_scan_finds_what_running_every_regex_finds(seed_index):
    patterns = [(pos, seed_index.keywords[pos].pattern) for pos in seed_index._regex_keywords]
    scan = RegexScan(patterns)
    assert len(scan) == len(patterns) and scan.always_run < len(patterns) / 4
    texts = [
        seed_index.analyse(text).canonical
        for path in EVAL_FILES
        if path.exists()
        for _intent, text in read_tsv(path)[:150]
    ]
    assert len(texts) > 500
    for text in texts:
        brute = {pos for pos, pattern in patterns if pattern.search(text)}
        assert scan.matching(text) == brute, text


def test_a_pattern_the_parser_cannot_read_always_runs():
    scan = RegexScan([(0, re.compile("a(?=b)"))])
    assert scan.matching("ab") == {0}
