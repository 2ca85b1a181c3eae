"""The clause that asks: where a long message puts its question.

Real questions open with a salutation and a backstory and ask in the last
clause: 您好，我是公司会计，今天收到一张数电票，请问纸质发票的校验码在哪里看.
The matcher weighs keywords of the asking clause fully and the others less,
so context words (会计, 数电票) do not outvote what is asked (校验码在哪).
"""

from __future__ import annotations

import re

# Clause boundaries: sentence punctuation (after NFKC: , ! ? ;), and the words that
# open a question in a run-on voice message. 、 lists things and : introduces a quote,
# so neither ends a clause.
_SPLIT_RE = re.compile(
    r"[,.!?;。~…\n]+|(?=请问|想问|问一下|问下|咨询一下|麻烦问|求问|但是|可是|结果)"
)
# Words that make a clause a question.
QUESTION_RE = re.compile(
    r"怎么|怎样|如何|为什么|为何|为啥|咋|吗|嘛|呢|\?|是否|能否|能不能|可不可以|会不会|"
    r"要不要|需不需要|用不用|有没有|是不是|哪|多久|多长|多少|什么|啥|几|谁|请问|想问|问一下|"
    r"求助|咨询|该不该|还能|可以.{0,8}不"
)
# What a question clause may consist of without saying what it is about.
_GENERIC_RE = re.compile(
    r"请问|想问一下|想问下|想问|问一下|问下|咨询一下|麻烦|老师|您好|你好|谢谢|感谢|"
    r"这种情况|这个情况|这个问题|这是|这样|这|那|"
    r"应该|需要|我该|我们该|该|怎么办|怎么处理|怎么解决|如何解决|如何处理|怎么回事|"
    r"是什么原因|什么原因|什么情况|为什么|为啥|怎么|如何|咋办|咋|"
    r"是不是|有没有|能不能|可不可以|可以|能|吗|呢|啊|呀|吧|嘛|哦|一下|我们|我|你们|"
    r"[\s\W\d]"
)
# Content characters a question clause needs to stand on its own.
MIN_CONTENT_CHARS = 2


def clause_spans(text: str) -> list[tuple[int, int]]:
    """Return the (start, end) spans of the clauses of text, empty ones left out."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _SPLIT_RE.finditer(text):
        if m.start() > start and text[start : m.start()].strip():
            spans.append((start, m.start()))
        start = max(start, m.end())
    if start < len(text) and text[start:].strip():
        spans.append((start, len(text)))
    return spans


def _content(clause: str) -> int:
    return len(_GENERIC_RE.sub("", clause))


def focus_span(text: str) -> tuple[int, int] | None:
    """Return the span of the clause that asks (with its subject), None if it is all of text.

    The asking clause is the last one with a question word. A bare 请问怎么办 takes
    the clause before it (the cause it asks about), or after it when it comes first.
    None: one clause, no question word anywhere, or the focus would be the whole text.
    """
    spans = clause_spans(text)
    if len(spans) < 2:
        return None
    asking = [i for i, (s, e) in enumerate(spans) if QUESTION_RE.search(text, s, e)]
    if not asking:
        return None
    first = last = asking[-1]
    while (
        sum(_content(text[spans[i][0] : spans[i][1]]) for i in range(first, last + 1))
        < MIN_CONTENT_CHARS
    ):
        if first > 0:
            first -= 1
        elif last < len(spans) - 1:
            last += 1
        else:
            break
    start, end = spans[first][0], spans[last][1]
    if start == spans[0][0] and end == spans[-1][1]:
        return None
    return start, end
