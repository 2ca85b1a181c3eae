"""The rules users trip on, applied before any verification call.

Each rule that stops a check names itself (`Rule`) and the normalised result
the tax platform would have given, so diagnosis and records speak one language.
"""

import datetime
from dataclasses import dataclass, field
from enum import StrEnum

from bot.invoices.decoding import Decoded, Problem, extra_field_for
from bot.invoices.extraction import InvoiceFields
from bot.invoices.kinds import ExtraField, Kind
from bot.invoices.models import Result
from bot.invoices.regions import HOME_REGION


class Rule(StrEnum):
    MISSING_NUMBER = "missing_number"
    MISSING_DATE = "missing_date"
    MISSING_EXTRA = "missing_extra"
    BAD_CODE = "bad_code"
    BAD_NUMBER = "bad_number"
    NOT_VAT = "not_vat"
    DIGITAL_SPLIT = "digital_split"
    IMPOSSIBLE_DATE = "impossible_date"
    OTHER_REGION = "other_region"
    ISSUED_TODAY = "issued_today"
    TOO_OLD = "too_old"
    WRONG_AMOUNT_KIND = "wrong_amount_kind"
    CHECK_LIMIT = "check_limit"


RULE_RESULTS: dict[Rule, Result] = {
    Rule.ISSUED_TODAY: Result.ISSUED_TODAY,
    Rule.TOO_OLD: Result.TOO_OLD,
    Rule.CHECK_LIMIT: Result.TOO_MANY_CHECKS,
}


@dataclass(frozen=True)
class RuleStop:
    rule: Rule
    context: dict = field(default_factory=dict)

    @property
    def result(self) -> Result:
        return RULE_RESULTS.get(self.rule, Result.BAD_INPUT)


def years_before(day: datetime.date, years: int) -> datetime.date:
    """The same calendar day `years` earlier (29 February becomes the 28th)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def _identity_stop(fields: InvoiceFields, decoded: Decoded) -> RuleStop | None:
    code = fields.invoice_code or ""
    number = fields.invoice_number or ""
    if not number:
        return RuleStop(Rule.MISSING_NUMBER)
    if Problem.DIGITAL_SPLIT in decoded.problems:
        return RuleStop(Rule.DIGITAL_SPLIT, {"joined": code + number})
    if not number.isdigit():
        return RuleStop(Rule.BAD_NUMBER)
    if code:
        if not code.isdigit():
            return RuleStop(Rule.BAD_CODE)
        if len(code) in (10, 12) and Problem.UNKNOWN_REGION in decoded.problems:
            # No region has these digits: a slip, not a document of another system.
            return RuleStop(
                Rule.BAD_CODE, {"rejected": code, "flaws": [f.as_json() for f in decoded.flaws]}
            )
        # 财政票据 carry 8-digit codes; anything else of a known length but unknown kind
        # (定额, 通用机打, other non-VAT paper) is not from the VAT system either.
        if len(code) == 8 or (len(code) in (10, 12) and decoded.kind is Kind.UNKNOWN):
            return RuleStop(Rule.NOT_VAT)
        if len(code) not in (10, 12):
            return RuleStop(Rule.BAD_CODE)
        if len(number) != 8:
            return RuleStop(Rule.BAD_NUMBER)
    elif len(number) != 20:
        # Without a code only a 20-digit 数电 number identifies an invoice.
        return RuleStop(Rule.BAD_NUMBER)
    return None


def _date_stop(fields: InvoiceFields, decoded: Decoded, *, today: datetime.date) -> RuleStop | None:
    if Problem.YEAR_IN_FUTURE in decoded.problems:
        return RuleStop(Rule.IMPOSSIBLE_DATE, {"year": decoded.year})
    issue_date = fields.issue_date
    if issue_date is None:
        return RuleStop(Rule.MISSING_DATE)
    if issue_date > today or (decoded.year and issue_date.year < decoded.year):
        return RuleStop(Rule.IMPOSSIBLE_DATE, {"year": decoded.year})
    return None


def _extra_stop(fields: InvoiceFields, kind: str) -> RuleStop | None:
    needed = extra_field_for(kind)
    if needed is None:
        return None
    context = {"needed": needed.value}
    if needed is ExtraField.CHECK_CODE:
        code = fields.check_code or ""
        if len(code) < 6 or not code.isdigit():
            return RuleStop(Rule.MISSING_EXTRA, context)
        return None
    if fields.amount is None:
        return RuleStop(Rule.MISSING_EXTRA, context)
    if needed is ExtraField.AMOUNT_EXCLUDING_TAX and fields.amount_kind == "total":
        return RuleStop(Rule.WRONG_AMOUNT_KIND, context)
    if needed is ExtraField.TOTAL_INCLUDING_TAX and fields.amount_kind == "excluding_tax":
        return RuleStop(Rule.WRONG_AMOUNT_KIND, context)
    return None


def rules_check(
    *,
    fields: InvoiceFields,
    decoded: Decoded,
    kind: str,
    today: datetime.date,
    checks_today: int,
    daily_limit: int = 5,
    max_age_years: int = 5,
    home_region: str = HOME_REGION,
) -> RuleStop | None:
    """Return the first rule that stops this check, or None when it may be verified."""
    stop = _identity_stop(fields, decoded)
    if stop:
        return stop
    stop = _date_stop(fields, decoded, today=today)
    if stop:
        return stop
    if decoded.region and decoded.region != home_region:
        return RuleStop(Rule.OTHER_REGION, {"region": decoded.region})
    if fields.issue_date == today:
        return RuleStop(Rule.ISSUED_TODAY)
    if fields.issue_date < years_before(today, max_age_years):
        return RuleStop(Rule.TOO_OLD, {"years": max_age_years})
    stop = _extra_stop(fields, kind)
    if stop:
        return stop
    return limit_check(checks_today=checks_today, daily_limit=daily_limit)


def limit_check(*, checks_today: int, daily_limit: int) -> RuleStop | None:
    """Stop when the invoice has used its checks for the day."""
    if checks_today >= daily_limit:
        return RuleStop(Rule.CHECK_LIMIT, {"limit": daily_limit})
    return None
