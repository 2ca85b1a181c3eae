"""Pinyin typed instead of characters (bot/nlu/pinyin_input.py)."""

import pytest

from bot.nlu.matcher import classify_with
from bot.nlu.pinyin_input import PinyinReader, _syllabify, syllables

VOCAB = [("电子", 5), ("发票", 9), ("下载", 4), ("红冲", 3), ("查不到", 4), ("怎么", 6), ("查", 3)]


def test_syllables_are_pinyin_only():
    table = syllables()
    assert {"fa", "piao", "zhuang", "lv", "er"} <= table
    assert not {"m", "n", "ng", "hm"} & table  # interjections would let English through


@pytest.mark.parametrize(
    ("token", "parts"),
    [("fapiao", ("fa", "piao")), ("dianzi", ("dian", "zi")), ("pdf", None), ("hello", None)],
)
def test_syllabify(token, parts):
    assert _syllabify(token) == parts


@pytest.mark.parametrize(
    ("text", "read"),
    [
        ("dianzi fapiao xiazai", "电子发票下载"),
        ("dianzifapiaoxiazai", "电子发票下载"),  # no spaces
        ("hongchong 怎么弄", "红冲 怎么弄"),  # mixed with characters
        ("fapiao chabudao zenme", "发票查不到怎么"),
        ("发票pdf下载", "发票pdf下载"),  # English stays
        ("hello 在吗", "hello 在吗"),
        ("can you help me", "can you help me"),
        ("ok", "ok"),
    ],
)
def test_reader_turns_pinyin_runs_into_kb_words(text, read):
    assert PinyinReader(VOCAB).read(text) == read


def test_a_polyphonic_character_is_read_by_any_of_its_readings():
    reader = PinyinReader([("校验码", 3), ("在哪里", 2), ("银行", 2), ("行业", 1)])
    # 校 is xiao first and jiao in 校验; 行 is xing first and hang in 银行
    assert reader.read("jiaoyanma zai nali") == "校验码在哪里"
    assert reader.read("xiaoyanma zai nali") == "校验码在哪里"
    assert reader.read("yinhang") == "银行"


def test_another_reading_never_displaces_a_first_reading():
    # 长 is chang first, zhang second: zhangda spells 涨大 by first readings, and 长大's
    # other spelling may only take it when no word spells it so.
    reader = PinyinReader([("长大", 1), ("涨大", 5)])
    assert reader.read("zhangda") == "涨大"
    assert PinyinReader([("长大", 1)]).read("zhangda") == "长大"


def test_a_long_spaced_run_is_read_even_if_few_syllables_are_kb_words():
    reader = PinyinReader([("手工", 2), ("开", 3), ("的", 5), ("票", 4), ("能", 2), ("吗", 3)])
    # 2 of 8 syllables in a KB word of two syllables: too few for a short run
    assert reader.read("shougong kai de piao neng kai ma") == "手工开的票能开吗"
    assert reader.read("shougong kai de piao") == "shougong kai de piao"  # 5 syllables
    assert reader.read("can you help me please") == "can you help me please"


def test_a_run_that_reads_as_no_kb_word_is_left_alone():
    reader = PinyinReader(VOCAB)
    assert reader.read("wo men") == "wo men"  # pinyin, but not the KB's words
    assert reader.read("zhang san") == "zhang san"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("dianzi fapiao xiazai", "download_invoice"),
        ("hongchong 怎么弄", "void_red_status"),
        ("fapiao chabudao zenme ban", "invoice_not_found"),
        ("shudianpiao zenme chayan", "digital_invoice"),
        ("kaipiao hou duojiu neng chadao", "sync_delay"),
        ("zhuanrengong", "human_agent"),
    ],
)
def test_seed_kb_understands_pinyin(seed_index, text, intent):
    assert classify_with(seed_index, text).intent == intent
