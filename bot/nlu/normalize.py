"""Text normalisation and entity extraction, the first steps of the pipeline.

Everything here is pure and cheap: a per-character translate table built once
(full-width, traditional → simplified, control characters) and a few regexes.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

# Classification only needs the head (greeting, context) and the tail (the
# actual question) of a very long message; capping keeps latency bounded.
MAX_CHARS = 400
HEAD_CHARS = 150
# Raw input beyond this many times MAX_CHARS is cut (head and tail kept) before any
# other step: NFKC and the tables need not walk a pasted 10,000-character document.
RAW_FACTOR = 3

_EMOJI_RE = re.compile(
    "["
    "\U0001f000-\U0001faff"  # pictographs, emoticons, transport, flags, supplemental
    "\u2600-\u27bf"  # misc symbols, dingbats
    "\u2b00-\u2bff\u2300-\u23ff"  # arrows, technical
    "\ufe0e\ufe0f\u200d\u20e3"  # variation selectors, ZWJ, keycap
    "\U000e0000-\U000e007f"  # tags
    "]+"
)
# WeChat sends its built-in stickers as bracketed names: [微笑] [捂脸] [Facepalm].
_WECHAT_STICKER_RE = re.compile(r"\[[\u4e00-\u9fffa-z]{1,6}\]")
# Interjections that carry no meaning wherever they stand.
_FILLER_RE = re.compile(r"嗯+|呃+|唔+|哈哈+|呵呵+|hhh+|emmm*|额额+")
_SPACE_RE = re.compile(r"\s+")
# A short reply that is mostly a thumbs-up is an acknowledgement; folded hands alone
# are thanks, next to words only politeness (您好🙏). Matching vocabulary, not replies.
_ACK_EMOJI = {"\U0001f44d": "好的", "\U0001f44c": "好的"}  # thumbs up, OK hand
_THANKS_EMOJI = {"\U0001f64f": "谢谢", "\U0001f91d": "谢谢"}  # folded hands, handshake
ACK_MAX_CHARS = 4
# Characters typed one at a time with spaces between them: 转 人 工.
_SPACED_CJK_RE = re.compile(
    r"(?<![\u4e00-\u9fff])(?:[\u4e00-\u9fff] ){2,}[\u4e00-\u9fff](?![\u4e00-\u9fff])"
)
_REPEAT_PUNCT_RE = re.compile(r"([,.!?;:~。、…-])\1+")
# Quote marks around a quoted prompt (显示“异常”状态) would split a phrase keyword.
_QUOTES_RE = re.compile('["“”‘’「」『』〝〞]')


@cache
def _char_table() -> dict[int, str]:
    """Build the per-character table: control characters and traditional forms."""
    table: dict[int, str] = {}
    for cp in [*range(0, 32), *range(127, 160)]:
        table[cp] = " "
    for cp in (0x200B, 0x200C, 0x200E, 0x200F, 0x2028, 0x2029, 0x2060, 0xFEFF, 0x00AD):
        table[cp] = " "
    table.update(_traditional_table())
    return table


def _traditional_table() -> dict[int, str]:
    # OpenCC's character dictionary, applied per character with str.translate:
    # about 50 times faster than OpenCC.convert and phrase rules do not matter
    # for matching.
    import opencc

    path = Path(opencc.__file__).parent / "dictionary" / "TSCharacters.txt"
    table: dict[int, str] = {}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 2 and len(parts[0]) == 1:
                target = parts[1].split(" ")[0]
                if target and target != parts[0]:
                    table[ord(parts[0])] = target
    return table


def warm_up() -> None:
    """Build the translation table now rather than on the first message."""
    _char_table()


def normalise(text: str) -> str:
    """Return the canonical form of a user message used for all matching."""
    if not text:
        return ""
    if len(text) > RAW_FACTOR * MAX_CHARS:
        text = (
            text[: RAW_FACTOR * HEAD_CHARS] + " " + text[-RAW_FACTOR * (MAX_CHARS - HEAD_CHARS) :]
        )
    text = unicodedata.normalize("NFKC", text)
    text = text.translate(_char_table()).lower()
    text = _WECHAT_STICKER_RE.sub(" ", text)
    acks = [word for emoji, word in _ACK_EMOJI.items() if emoji in text]
    thanks = [word for emoji, word in _THANKS_EMOJI.items() if emoji in text]
    text = _EMOJI_RE.sub(" ", text)
    text = _FILLER_RE.sub(" ", text)
    text = _QUOTES_RE.sub("", text)
    text = _REPEAT_PUNCT_RE.sub(r"\1", text)
    text = _SPACE_RE.sub(" ", text).strip()
    text = _SPACED_CJK_RE.sub(lambda m: m.group(0).replace(" ", ""), text)
    if acks and len(text) <= ACK_MAX_CHARS:
        text = " ".join([text, *dict.fromkeys(acks)]).strip()
    if thanks and not text:
        text = thanks[0]
    if len(text) > MAX_CHARS:
        text = text[:HEAD_CHARS] + " " + text[-(MAX_CHARS - HEAD_CHARS) :]
    return text


# Invoice fields, ticket numbers and phone numbers are taken out before
# segmentation: jieba would shred them and their digits carry no meaning for
# intent matching, only their kind does.
_ENTITY_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("ticket", re.compile(r"(?<![a-z0-9])t\d{8,14}(?![0-9])")),
    ("check_code", re.compile(r"(?<=校验码)(?:后六位|后6位)?[:\s]*(\d{6}|\d{20})(?!\d)")),
    ("date", re.compile(r"(?<!\d)20\d{2}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?(?!\d)")),
    ("date", re.compile(r"(?<=日期)[:\s]*20\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])(?!\d)")),
    ("number20", re.compile(r"(?<!\d)\d{20}(?!\d)")),
    ("phone", re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")),
    ("code12", re.compile(r"(?<!\d)\d{12}(?!\d)")),
    ("code10", re.compile(r"(?<!\d)\d{10}(?!\d)")),
    ("date", re.compile(r"(?<!\d)20\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])(?!\d)")),
    ("number8", re.compile(r"(?<!\d)\d{8}(?!\d)")),
    ("amount", re.compile(r"(?<![\d.])\d+(?:\.\d{1,2})?\s*(?:元|块)")),
    ("amount", re.compile(r"(?<=金额)[:\s]*\d+(?:\.\d{1,2})?")),
    ("amount", re.compile(r"(?<![\d.])\d+\.\d{2}(?![\d.])")),
    ("check_code", re.compile(r"(?<!\d)\d{6}(?!\d)")),
]
INVOICE_FIELD_KINDS = frozenset(
    {"code12", "code10", "number20", "number8", "date", "amount", "check_code"}
)


@dataclass(frozen=True)
class Extracted:
    text: str
    entities: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    @property
    def field_count(self) -> int:
        return sum(1 for kind, _ in self.entities if kind in INVOICE_FIELD_KINDS)

    def markers(self) -> frozenset[str]:
        """Return pseudo-words (`@code12`, `@fields2`) that keywords can match."""
        marks = {"@" + kind for kind, _ in self.entities}
        marks.update(f"@fields{n}" for n in range(1, min(self.field_count, 4) + 1))
        return frozenset(marks)


def extract(text: str) -> Extracted:
    """Take invoice fields and other codes out of normalised text."""
    if not any(ch.isdigit() for ch in text):
        return Extracted(text)
    entities: list[tuple[str, str]] = []
    for kind, pattern in _ENTITY_PATTERNS:
        if not any(ch.isdigit() for ch in text):
            break

        def _take(match: re.Match[str], kind: str = kind) -> str:
            entities.append((kind, re.sub(r"\D", "", match.group(0)) or match.group(0)))
            return " "

        text = pattern.sub(_take, text)
    return Extracted(_SPACE_RE.sub(" ", text).strip(), tuple(entities))
