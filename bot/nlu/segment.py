"""The process-wide jieba tokenizer with the domain dictionary.

A private `jieba.Tokenizer` (never jieba's global one, which other code may
mutate) is built once per process by `NluConfig.ready()`. Compiling the
knowledge base adds its words with `add_word`, which is an in-memory dict
update, so a KB edit never reloads the dictionary.
"""

from __future__ import annotations

import logging
import threading

import jieba

_lock = threading.Lock()
_tokenizer: jieba.Tokenizer | None = None
_added: set[str] = set()

# Words the matcher never needs; removing them keeps similarity scores about content.
STOPWORDS = frozenset(
    "的 了 吗 呢 吧 啊 呀 哦 嘛 么 着 过 和 与 及 或 也 都 就 还 又 把 被 给 让 "
    "我 你 您 他 她 它 我们 你们 他们 这 那 这个 那个 这张 那张 一下 一个 一张 请 请问 "
    "是 有 在 要 想 会 能 可以 一 个 张 下 啦 哈 哎 诶 喂 吖".split()
)


def tokenizer() -> jieba.Tokenizer:
    """Return the process tokenizer, initialising it on first use."""
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                logging.getLogger("jieba").setLevel(logging.WARNING)
                tk = jieba.Tokenizer()
                tk.initialize()
                _tokenizer = tk
    return _tokenizer


def add_words(words: list[tuple[str, int | None]]) -> None:
    """Teach the tokenizer domain words not added before."""
    tk = tokenizer()
    with _lock:
        for word, freq in words:
            if word and word not in _added:
                tk.add_word(word, freq=freq or None)
                _added.add(word)


def word_freq(word: str) -> int:
    """Return jieba's corpus frequency of a word (0 for unknown words and prefixes)."""
    return tokenizer().FREQ.get(word) or 0


def segment(text: str) -> list[str]:
    """Split normalised text into content words."""
    return [
        tok
        for tok in tokenizer().lcut(text, HMM=False)
        if tok.strip() and tok not in STOPWORDS and not _is_punct(tok)
    ]


def content_spans(text: str) -> list[tuple[str, int]]:
    """Return the content words of text with their start offsets (as `segment`)."""
    return [
        (tok, start)
        for tok, start, _end in tokenizer().tokenize(text, HMM=False)
        if tok.strip() and tok not in STOPWORDS and not _is_punct(tok)
    ]


def spans(text: str) -> list[tuple[str, int, int]]:
    """Return jieba's (word, start, end) segmentation of text."""
    return list(tokenizer().tokenize(text, HMM=False))


def _is_punct(tok: str) -> bool:
    return all(not (ch.isalnum() or "\u4e00" <= ch <= "\u9fff") for ch in tok)
