"""jieba is loaded once per process (AppConfig.ready), never per message."""

import jieba
import pytest

from bot.nlu import segment
from bot.nlu.matcher import classify_with


def _forbid(*_args, **_kwargs):
    raise AssertionError("jieba dictionary loaded while answering a message")


def test_the_process_tokenizer_is_ready_and_shared():
    tk = segment.tokenizer()
    assert tk.initialized
    assert segment.tokenizer() is tk


def test_classifying_never_loads_a_dictionary(seed_index, monkeypatch):
    monkeypatch.setattr(jieba.Tokenizer, "initialize", _forbid)
    monkeypatch.setattr(jieba.Tokenizer, "__init__", _forbid)
    for text in ["刚开的发票查不到", "税控盘开票失败", "數電票怎麼查驗", "a" * 10_000]:
        classify_with(seed_index, text)


@pytest.mark.parametrize(
    ("text", "word"),
    [("税控盘开票失败", "税控盘"), ("数电票怎么查", "数电票"), ("发票被红冲了", "红冲")],
)
def test_domain_words_are_single_tokens(text, word):
    assert word in segment.segment(text)
