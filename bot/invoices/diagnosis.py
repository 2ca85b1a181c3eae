"""Combine decoding, rules, verification and dates into the likely cause and what to do.

The causes follow domain.md's table. Each has a stable code (`Diagnosis`), a
plain-Chinese answer in `templates/bot/invoices/diagnosis/<code>.txt`, and two
flags: whether a person must act and whether the bot should keep watching.
"""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from django.template.loader import render_to_string

from bot.invoices.decoding import Decoded, extra_field_for
from bot.invoices.extraction import InvoiceFields
from bot.invoices.models import Result
from bot.invoices.rules import Rule, RuleStop
from bot.invoices.verification import ChainResult


class Diagnosis(StrEnum):
    """Stable codes of the likely cause; API clients and reports rely on them."""

    VALID = "valid"
    NOT_BEIJING = "not_beijing"
    DIGITAL_SPLIT = "digital_split"
    WRONG_AMOUNT_KIND = "wrong_amount_kind"
    MISSING_FIELDS = "missing_fields"
    BAD_INPUT = "bad_input"
    BAD_DATE = "bad_date"
    ISSUED_TODAY = "issued_today"
    NOT_UPLOADED = "not_uploaded"
    NOT_FOUND_RECENT = "not_found_recent"
    NOT_FOUND = "not_found"
    VOIDED = "voided"
    RED_FLUSHED = "red_flushed"
    PARTLY_RED_FLUSHED = "partly_red_flushed"
    CHECK_LIMIT = "check_limit"
    TOO_OLD = "too_old"
    NOT_VAT_DOCUMENT = "not_vat_document"
    MISMATCH = "mismatch"
    UPSTREAM_UNAVAILABLE = "upstream_unavailable"


# Diagnoses that need a person (an agent, the seller is not enough) and ones worth watching.
NEEDS_PERSON = frozenset({Diagnosis.NOT_FOUND})
WATCHED = frozenset({Diagnosis.ISSUED_TODAY, Diagnosis.NOT_UPLOADED, Diagnosis.NOT_FOUND_RECENT})

_RULE_DIAGNOSIS = {
    Rule.MISSING_NUMBER: Diagnosis.MISSING_FIELDS,
    Rule.MISSING_DATE: Diagnosis.MISSING_FIELDS,
    Rule.MISSING_EXTRA: Diagnosis.MISSING_FIELDS,
    Rule.BAD_CODE: Diagnosis.BAD_INPUT,
    Rule.BAD_NUMBER: Diagnosis.BAD_INPUT,
    Rule.NOT_VAT: Diagnosis.NOT_VAT_DOCUMENT,
    Rule.DIGITAL_SPLIT: Diagnosis.DIGITAL_SPLIT,
    Rule.IMPOSSIBLE_DATE: Diagnosis.BAD_DATE,
    Rule.OTHER_REGION: Diagnosis.NOT_BEIJING,
    Rule.ISSUED_TODAY: Diagnosis.ISSUED_TODAY,
    Rule.TOO_OLD: Diagnosis.TOO_OLD,
    Rule.WRONG_AMOUNT_KIND: Diagnosis.WRONG_AMOUNT_KIND,
    Rule.CHECK_LIMIT: Diagnosis.CHECK_LIMIT,
}

_RESULT_DIAGNOSIS = {
    Result.VALID: Diagnosis.VALID,
    Result.MISMATCH: Diagnosis.MISMATCH,
    Result.VOIDED: Diagnosis.VOIDED,
    Result.TOO_MANY_CHECKS: Diagnosis.CHECK_LIMIT,
    Result.ISSUED_TODAY: Diagnosis.ISSUED_TODAY,
    Result.TOO_OLD: Diagnosis.TOO_OLD,
    Result.BAD_INPUT: Diagnosis.BAD_INPUT,
    Result.UPSTREAM_ERROR: Diagnosis.UPSTREAM_UNAVAILABLE,
}


@dataclass(frozen=True)
class DiagnosisOutcome:
    code: Diagnosis
    result: Result
    needs_person: bool
    should_watch: bool
    context: dict = field(default_factory=dict)


def _from_verification(
    chain: ChainResult, *, fields: InvoiceFields, today: datetime.date, recent_days: int
) -> tuple[Diagnosis, dict]:
    final = chain.final
    details = dict(final.details)
    if final.result is Result.NOT_FOUND:
        if chain.issued_not_uploaded:
            return Diagnosis.NOT_UPLOADED, details
        recent = fields.issue_date and (today - fields.issue_date).days <= recent_days
        return (Diagnosis.NOT_FOUND_RECENT if recent else Diagnosis.NOT_FOUND), details
    if final.result is Result.RED_FLUSHED:
        partial = details.get("red_flush") == "partial"
        return (Diagnosis.PARTLY_RED_FLUSHED if partial else Diagnosis.RED_FLUSHED), details
    if final.result is Result.MISMATCH and details.get("mismatch") == "amount_kind":
        return Diagnosis.WRONG_AMOUNT_KIND, details
    return _RESULT_DIAGNOSIS[final.result], details


def diagnosis_make(
    *,
    fields: InvoiceFields,
    decoded: Decoded,
    kind: str,
    stop: RuleStop | None,
    chain: ChainResult | None,
    today: datetime.date,
    recent_days: int = 7,
) -> DiagnosisOutcome:
    """Name the likely cause of this check's outcome."""
    if stop is not None:
        code = _RULE_DIAGNOSIS[stop.rule]
        result = stop.result
        context = {"rule": stop.rule.value, **stop.context}
    elif chain is not None:
        code, context = _from_verification(
            chain, fields=fields, today=today, recent_days=recent_days
        )
        result = chain.final.result
    else:
        raise ValueError("a diagnosis needs a rule stop or a verification result")
    needed = extra_field_for(kind)
    context.setdefault("needed", needed.value if needed else "")
    return DiagnosisOutcome(
        code=code,
        result=result,
        needs_person=code in NEEDS_PERSON,
        should_watch=code in WATCHED,
        context=context,
    )


KIND_LABELS = {
    "special": "增值税专用发票",
    "ordinary": "增值税普通发票",
    "electronic_special": "增值税电子专用发票",
    "electronic_ordinary": "增值税电子普通发票",
    "roll": "增值税普通发票（卷票）",
    "toll": "通行费电子发票",
    "freight": "货物运输业增值税专用发票",
    "motor_vehicle": "机动车销售统一发票",
    "used_car": "二手车销售统一发票",
    "digital_special": "数电票（增值税专用发票）",
    "digital_ordinary": "数电票（普通发票）",
    "digital": "数电票",
}


def diagnosis_reply(
    *,
    outcome: DiagnosisOutcome,
    fields: InvoiceFields,
    kind: str,
    region: str,
    watching: bool,
    qr_fields: Iterable[str] = (),
) -> str:
    """Render the plain-Chinese answer for a diagnosis.

    `qr_fields`: fields read from the invoice's QR code; the answer says where a wrong
    value came from instead of calling it a typing slip.
    """
    qr_fields = sorted(qr_fields)
    context = {
        **outcome.context,
        "code": fields.invoice_code or "",
        "number": fields.invoice_number or "",
        "issue_date": fields.issue_date,
        "amount": f"{fields.amount:.2f}" if fields.amount is not None else "",
        "kind": kind,
        "kind_label": KIND_LABELS.get(kind, ""),
        "region": outcome.context.get("region") or region,
        "watching": watching,
        "needs_person": outcome.needs_person,
        "qr_fields": qr_fields,
        "from_qr": bool(qr_fields),
        "date_from_qr": "issue_date" in qr_fields,
    }
    return render_to_string(f"bot/invoices/diagnosis/{outcome.code.value}.txt", context).strip()


def checking_reply() -> str:
    """The passive reply while a slow verification runs and its answer will be pushed."""
    return render_to_string("bot/invoices/checking.txt").strip()
