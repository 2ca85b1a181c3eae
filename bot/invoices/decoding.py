"""Decode what an invoice code or 数电 number says: kind, region, year, needs."""

import datetime
from dataclasses import dataclass
from enum import StrEnum

from django.utils import timezone

from bot.invoices.kinds import (
    EXTRA_FIELD_BY_KIND,
    KIND_BY_10_DIGIT_TYPE,
    KIND_BY_12_DIGIT_SUFFIX,
    ONE_PREFIX_ELECTRONIC_ORDINARY,
    ExtraField,
    Kind,
)
from bot.invoices.regions import (
    DIGITAL_PLANNED_CITIES,
    HOME_REGION,
    PLANNED_CITIES,
    PROVINCES,
)


class Problem(StrEnum):
    """What looks wrong in a code or number: decoding flags it, rules and replies name it."""

    BAD_LENGTH = "bad_length"
    NOT_DIGITS = "not_digits"
    BAD_LEADING_DIGIT = "bad_leading_digit"  # a 12-digit code starts with neither 0 nor 1
    UNKNOWN_REGION = "unknown_region"
    UNKNOWN_KIND = "unknown_kind"
    YEAR_IN_FUTURE = "year_in_future"
    DIGITAL_SPLIT = "digital_split"  # a 数电 number typed as code + number


@dataclass(frozen=True)
class CodeFlaw:
    """Why one part of a code does not decode: its 1-based digit positions and the digits."""

    problem: Problem
    first: int
    last: int
    digits: str

    @property
    def year(self) -> int | None:
        return 2000 + int(self.digits) if self.problem is Problem.YEAR_IN_FUTURE else None

    def as_json(self) -> dict:
        """What a reply needs to name the flaw (`templates/bot/invoices/_code_flaws.txt`)."""
        return {
            "problem": self.problem.value,
            "first": self.first,
            "last": self.last,
            "digits": self.digits,
            "year": self.year,
        }


@dataclass(frozen=True)
class Decoded:
    kind: Kind = Kind.UNKNOWN
    region: str | None = None
    region_code: str | None = None
    year: int | None = None
    problems: tuple[Problem, ...] = ()
    flaws: tuple[CodeFlaw, ...] = ()  # where a 10- or 12-digit code goes wrong

    @property
    def extra_field(self) -> ExtraField | None:
        return extra_field_for(self.kind)

    @property
    def is_home_region(self) -> bool | None:
        return None if self.region is None else self.region == HOME_REGION


def extra_field_for(kind: Kind | str | None) -> ExtraField | None:
    """Return the field verification needs besides code, number and date."""
    if not kind:
        return None
    try:
        return EXTRA_FIELD_BY_KIND.get(Kind(kind))
    except ValueError:
        return None


def region_from_code_prefix(prefix: str) -> tuple[str | None, str | None]:
    """Return (name, 4-digit region code) for digits 1-4 of a region field."""
    if prefix in PLANNED_CITIES:
        return PLANNED_CITIES[prefix], prefix
    name = PROVINCES.get(prefix[:2])
    return (name, prefix[:2] + "00") if name else (None, None)


def region_from_digital_prefix(prefix: str) -> tuple[str | None, str | None]:
    """Return (name, 2-digit code) for digits 3-4 of a 数电 number."""
    name = DIGITAL_PLANNED_CITIES.get(prefix) or PROVINCES.get(prefix)
    return (name, prefix) if name else (None, None)


def _year(two_digits: str, today: datetime.date) -> tuple[int, bool]:
    year = 2000 + int(two_digits)
    return year, year > today.year


def code_decode(code: str, *, today: datetime.date | None = None) -> Decoded:
    """Decode a 10- or 12-digit invoice code."""
    code = (code or "").strip()
    if not code.isdigit():
        return Decoded(problems=(Problem.NOT_DIGITS,))
    today = today or timezone.localdate()
    if len(code) == 12:
        return _decode_12(code, today)
    if len(code) == 10:
        return _decode_10(code, today)
    return Decoded(problems=(Problem.BAD_LENGTH,))


class _Flaws:
    """Collect the flaws of one code, each with the digits at its positions."""

    def __init__(self, code: str):
        self.code = code
        self.found: list[CodeFlaw] = []

    def add(self, problem: Problem, first: int, last: int) -> None:
        self.found.append(CodeFlaw(problem, first, last, self.code[first - 1 : last]))

    def decoded(
        self, kind: Kind, region: str | None, region_code: str | None, year: int
    ) -> Decoded:
        flaws = tuple(sorted(self.found, key=lambda f: f.first))
        return Decoded(kind, region, region_code, year, tuple(f.problem for f in flaws), flaws)


def _decode_12(code: str, today: datetime.date) -> Decoded:
    flaws = _Flaws(code)
    if code[0] == "0":
        kind = KIND_BY_12_DIGIT_SUFFIX.get(code[10:12], Kind.UNKNOWN)
        if kind is Kind.UNKNOWN:
            flaws.add(Problem.UNKNOWN_KIND, 11, 12)
    elif code[0] == "1":
        # Open-source parsers read digit 8 = 2 on a non-0 code as a motor-vehicle
        # invoice; the confirmed 1-prefix exceptions are electronic ordinary.
        if code in ONE_PREFIX_ELECTRONIC_ORDINARY or code[7] != "2":
            kind = Kind.ELECTRONIC_ORDINARY
        else:
            kind = Kind.MOTOR_VEHICLE
    else:
        kind = Kind.UNKNOWN
        flaws.add(Problem.BAD_LEADING_DIGIT, 1, 1)
    region, region_code = region_from_code_prefix(code[1:5])
    if region is None:
        flaws.add(Problem.UNKNOWN_REGION, 2, 5)
    year, future = _year(code[5:7], today)
    if future:
        flaws.add(Problem.YEAR_IN_FUTURE, 6, 7)
    return flaws.decoded(kind, region, region_code, year)


def _decode_10(code: str, today: datetime.date) -> Decoded:
    flaws = _Flaws(code)
    kind = KIND_BY_10_DIGIT_TYPE.get(code[7], Kind.UNKNOWN)
    if kind is Kind.UNKNOWN:
        flaws.add(Problem.UNKNOWN_KIND, 8, 8)
    region, region_code = region_from_code_prefix(code[0:4])
    if region is None:
        flaws.add(Problem.UNKNOWN_REGION, 1, 4)
    year, future = _year(code[4:6], today)
    if future:
        flaws.add(Problem.YEAR_IN_FUTURE, 5, 6)
    return flaws.decoded(kind, region, region_code, year)


def digital_number_decode(
    number: str, *, kind: Kind = Kind.DIGITAL, today: datetime.date | None = None
) -> Decoded:
    """Decode a 20-digit 数电 number (digits 1-2 year, 3-4 region)."""
    number = (number or "").strip()
    if not number.isdigit():
        return Decoded(problems=(Problem.NOT_DIGITS,))
    if len(number) != 20:
        return Decoded(problems=(Problem.BAD_LENGTH,))
    today = today or timezone.localdate()
    problems: list[Problem] = []
    region, region_code = region_from_digital_prefix(number[2:4])
    if region is None:
        problems.append(Problem.UNKNOWN_REGION)
    year, future = _year(number[0:2], today)
    if future:
        problems.append(Problem.YEAR_IN_FUTURE)
    return Decoded(kind, region, region_code, year, tuple(problems))


def looks_like_digital_number(number: str, *, today: datetime.date | None = None) -> bool:
    """Tell whether 20 digits read as a plausible 数电 number (sane year, known region)."""
    if len(number) != 20 or not number.isdigit():
        return False
    today = today or timezone.localdate()
    year = 2000 + int(number[:2])
    return 2019 <= year <= today.year and region_from_digital_prefix(number[2:4])[0] is not None


def looks_like_digital_prefix(digits: str, *, today: datetime.date | None = None) -> bool:
    """Tell whether digits could open a 数电 number (sane year, known region): a cut-off one."""
    if len(digits) < 4 or not digits.isdigit():
        return False
    today = today or timezone.localdate()
    year = 2000 + int(digits[:2])
    return 2019 <= year <= today.year and region_from_digital_prefix(digits[2:4])[0] is not None


def looks_like_code(code: str, *, today: datetime.date | None = None) -> bool:
    """Tell whether digits read as a plausible invoice code (known region and kind, sane year)."""
    if len(code) not in (10, 12) or not code.isdigit():
        return False
    if len(code) == 12 and code[0] not in "01":
        return False
    return not code_decode(code, today=today).problems


def invoice_decode(
    *, code: str | None, number: str | None, today: datetime.date | None = None
) -> Decoded:
    """Decode kind and region from whatever identifies the invoice."""
    code = code or ""
    number = number or ""
    if code:
        decoded = code_decode(code, today=today)
        joined = code + number
        if (
            len(joined) == 20
            and looks_like_digital_number(joined, today=today)
            and (decoded.kind is Kind.UNKNOWN or Problem.UNKNOWN_REGION in decoded.problems)
        ):
            digital = digital_number_decode(joined, today=today)
            return Decoded(
                digital.kind,
                digital.region,
                digital.region_code,
                digital.year,
                (*digital.problems, Problem.DIGITAL_SPLIT),
            )
        return decoded
    if len(number) == 20:
        return digital_number_decode(number, today=today)
    return Decoded()


USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_VALUES = {ch: i for i, ch in enumerate(USCC_CHARSET)}


def uscc_is_valid(code: str) -> bool:
    """Check the unified social credit code check digit (a warning, never a rejection)."""
    code = (code or "").strip().upper()
    if len(code) != 18 or any(ch not in _USCC_VALUES for ch in code):
        return False
    total = sum(_USCC_VALUES[ch] * w for ch, w in zip(code[:17], USCC_WEIGHTS, strict=True))
    check = (31 - total % 31) % 31
    return USCC_CHARSET[check] == code[17]


def valid_date(y: int, m: int, d: int) -> datetime.date | None:
    """Return the date, or None when the numbers make no calendar date."""
    try:
        return datetime.date(y, m, d)
    except ValueError:
        return None


def compact_date(digits: str, today: datetime.date | None = None) -> datetime.date | None:
    """Read YYYYMMDD; with today, only dates a recent invoice could carry."""
    if len(digits) != 8 or not digits.startswith(("19", "20")):
        return None
    date = valid_date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    if date and today and not (today.year - 10 <= date.year <= today.year + 1):
        return None
    return date


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_card_is_valid(value: str) -> bool:
    """Tell whether 18 characters are a valid resident ID number (a distractor in text)."""
    if len(value) != 18 or not value[:17].isdigit() or value[17] not in "0123456789X":
        return False
    total = sum(int(c) * w for c, w in zip(value[:17], _ID_WEIGHTS, strict=True))
    return "10X98765432"[total % 11] == value[17] and compact_date(value[6:14]) is not None
