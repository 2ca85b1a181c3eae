"""Normalise user text for field extraction: width, Chinese numerals, spoken digits."""

import re
import unicodedata

DIGIT_CHARS = {
    "零": "0",
    "〇": "0",
    "○": "0",
    "洞": "0",
    "一": "1",
    "幺": "1",
    "壹": "1",
    "二": "2",
    "两": "2",
    "贰": "2",
    "三": "3",
    "叁": "3",
    "四": "4",
    "肆": "4",
    "五": "5",
    "伍": "5",
    "六": "6",
    "陆": "6",
    "七": "7",
    "柒": "7",
    "拐": "7",
    "八": "8",
    "捌": "8",
    "九": "9",
    "玖": "9",
    "勾": "9",
}
UNIT_CHARS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_CN_DIGIT = "零〇○一幺壹二两贰三叁四肆五伍六陆七柒八捌九玖"
_CN_POSITIONAL = _CN_DIGIT + "十拾百佰千仟万萬"

# Runs read digit by digit ("零一一零…"): long runs, or runs touching Arabic digits.
# The radio-style readings (洞/拐/勾) only count inside such runs.
_SPOKEN_RUN = re.compile(rf"[{_CN_DIGIT}洞拐勾](?:[{_CN_DIGIT}洞拐勾\s]*[{_CN_DIGIT}洞拐勾])?")

_CN_MONTH = r"(?:十[一二]?|[一二三四五六七八九])"
_CN_DAY = r"(?:[二三]?十[一二三四五六七八九]?|[一二三四五六七八九])"
_CN_DATE = re.compile(
    rf"(?:(?P<y>\d{{4}}|\d{{2}})\s*年\s*)?(?P<m>\d{{1,2}}|{_CN_MONTH})\s*月\s*(?P<d>\d{{1,2}}|{_CN_DAY})"
    r"\s*(?P<suffix>[日号])"
)

_CN_AMOUNT = re.compile(
    rf"(?P<int>[{_CN_DIGIT}十拾][{_CN_POSITIONAL}]{{0,20}})(?:点(?P<dec>[{_CN_DIGIT}]+))?"
    r"(?P<unit>元|块|圆)"
    rf"(?:(?P<jiao>[{_CN_DIGIT}])(?:角|毛)?)?(?:(?P<fen>[{_CN_DIGIT}])分)?"
)
_CN_AMOUNT_AFTER_LABEL = re.compile(
    r"(?P<label>金额|合计|含税|不含税|总额|总价|总计|共计|一共|价税)"
    r"(?P<sep>[是为:\s]*)"
    rf"(?P<int>[{_CN_DIGIT}十拾][{_CN_POSITIONAL}]{{0,20}})(?:点(?P<dec>[{_CN_DIGIT}]+))?"
)


def chinese_int(text: str) -> int | None:
    """Read a Chinese numeral: positional (一千零六十) or digit by digit (二〇二五)."""
    if not text:
        return None
    if not any(ch in UNIT_CHARS or ch in "万萬" for ch in text):
        digits = "".join(DIGIT_CHARS.get(ch, "") for ch in text)
        return int(digits) if len(digits) == len(text) else None
    total = 0
    section = 0
    digit: int | None = None
    for ch in text:
        if ch in DIGIT_CHARS:
            digit = int(DIGIT_CHARS[ch])
        elif ch in UNIT_CHARS:
            section += (1 if digit is None else digit) * UNIT_CHARS[ch]
            digit = None
        elif ch in "万萬":
            total += (section + (digit or 0)) * 10000
            section = 0
            digit = None
        else:
            return None
    return total + section + (digit or 0)


def _digits(text: str) -> str:
    return "".join(DIGIT_CHARS.get(ch, "") for ch in text)


def _replace_cn_date(m: re.Match) -> str:
    mo, d = m["m"], m["d"]
    mo = mo if mo.isdigit() else str(chinese_int(mo))
    d = d if d.isdigit() else str(chinese_int(d))
    year = f"{m['y']}年" if m["y"] else ""
    return f"{year}{mo}月{d}{m['suffix']}"


def _replace_cn_amount(m: re.Match) -> str:
    whole = chinese_int(m["int"])
    if whole is None:
        return m[0]
    if m["dec"]:
        return f"{whole}.{_digits(m['dec'])}{m['unit']}"
    if m["jiao"] or m["fen"]:
        jiao = _digits(m["jiao"] or "零")
        fen = _digits(m["fen"] or "零")
        return f"{whole}.{jiao}{fen}{m['unit']}"
    return f"{whole}{m['unit']}"


def _replace_cn_amount_after_label(m: re.Match) -> str:
    whole = chinese_int(m["int"])
    if whole is None:
        return m[0]
    dec = f".{_digits(m['dec'])}" if m["dec"] else ""
    return f"{m['label']}{m['sep']}{whole}{dec}"


def _replace_spoken_run(m: re.Match, text: str) -> str:
    run = m[0]
    core = re.sub(r"\s", "", run)
    touches_digit = (m.start() > 0 and text[m.start() - 1].isdigit()) or (
        m.end() < len(text) and text[m.end()].isdigit()
    )
    if len(core) >= 3 or (touches_digit and not any(ch in "洞拐勾" for ch in core)):
        if len(core) < 3 and any(ch in "两" for ch in core):
            return run
        return "".join(DIGIT_CHARS.get(ch, ch) for ch in run)
    return run


def normalise(text: str) -> str:
    """Fold width and case, read Chinese numerals as digits where they are numbers."""
    text = unicodedata.normalize("NFKC", text or "")
    text = text.replace("\u00a5", "¥").replace("\u200b", "")
    # Chinese years are read digit by digit first so dates can use them.
    text = re.sub(
        rf"[{_CN_DIGIT}]{{2,4}}(?=\s*年)",
        lambda m: _digits(m[0]) if len(_digits(m[0])) == len(m[0]) else m[0],
        text,
    )
    text = _CN_DATE.sub(_replace_cn_date, text)
    text = _CN_AMOUNT.sub(_replace_cn_amount, text)
    text = _CN_AMOUNT_AFTER_LABEL.sub(_replace_cn_amount_after_label, text)
    text = _SPOKEN_RUN.sub(lambda m: _replace_spoken_run(m, text), text)
    return text.upper()
