"""Read invoice fields from free text (typed, or WeChat voice recognition).

The text is normalised (width, Chinese numerals), then spans that are never
invoice fields (phones, percentages) and spans with an unmistakable shape
(dates, money, tax ids) are taken out, and the remaining digit runs are
classified by the label before them, then by their shape and order.
"""

import datetime
import re
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation

from django.utils import timezone

from bot.invoices.decoding import (
    compact_date,
    extra_field_for,
    id_card_is_valid,
    invoice_decode,
    looks_like_code,
    looks_like_digital_number,
    uscc_is_valid,
    valid_date,
)
from bot.invoices.kinds import ExtraField
from bot.invoices.labels import (
    AMOUNT_ROLES,
    DATE_CONTEXT_WORDS,
    TRAILING_AMOUNT_HINTS,
    Role,
    label_roles,
)
from bot.invoices.numerals import normalise

CENT = Decimal("0.01")
_DIGIT_ROLES = frozenset({Role.CODE, Role.NUMBER, Role.CHECK, Role.TAX_ID})
# Kinds checked with an amount: a number typed without 元 or a label after the invoice and
# its date is that amount. Only a total is named for the follower (a 数电 invoice has no
# other amount to check); for a special invoice the amount typed may be the total by
# mistake, so it stays unnamed and the check says which one it needs.
_NEEDED_AMOUNT = {
    ExtraField.AMOUNT_EXCLUDING_TAX: None,
    ExtraField.VEHICLE_PRICE: None,
    ExtraField.TOTAL_INCLUDING_TAX: Role.AMOUNT_TOTAL,
}
_BARE_AMOUNT_MAX_DIGITS = 7  # 8 digits are a number or a date
_AFTER_BARE_AMOUNT = re.compile(r"\s*(?:$|[,，。;；!?！？\n、])|\s+")


@dataclass(frozen=True)
class InvoiceFields:
    invoice_code: str | None = None
    invoice_number: str | None = None
    issue_date: datetime.date | None = None
    amount: Decimal | None = None
    amount_kind: str | None = None  # "excluding_tax" | "total" | None
    check_code: str | None = None  # last 6 digits
    seller_tax_id: str | None = None
    kind: str | None = None
    region: str | None = None
    # 10 or 12 digits standing where a code would, that do not decode as one (the reply
    # names them); never verified.
    rejected_code: str | None = None

    def as_json(self) -> dict:
        data = asdict(self)
        data["issue_date"] = self.issue_date.isoformat() if self.issue_date else None
        data["amount"] = f"{self.amount:.2f}" if self.amount is not None else None
        return data

    @property
    def is_empty(self) -> bool:
        return (
            not any((self.invoice_code, self.invoice_number, self.issue_date, self.check_code))
            and self.amount is None
        )


@dataclass
class _Span:
    start: int
    end: int
    kind: str  # "date", "relative_date", "amount", "skip", "taxid", "digits"
    value: object = None
    role: Role | None = None
    extra: dict = field(default_factory=dict)


_CLAUSE_BREAK = re.compile(r"[,，。;；!?！？\n、]")
_DATE_FULL = re.compile(
    r"(?<!\d)(?P<y>(?:19|20)\d{2})\s*(?P<s1>[年\-/\.])\s*(?P<m>\d{1,2})\s*(?P<s2>[月\-/\.])"
    r"\s*(?P<d>\d{1,2})\s*[日号]?(?!\d)"
)
_DATE_SHORT_YEAR = re.compile(r"(?<!\d)(?P<y>\d{2})年(?P<m>\d{1,2})月(?P<d>\d{1,2})[日号]?(?!\d)")
_DATE_NO_YEAR = re.compile(r"(?<![\d年\-/.])(?P<m>\d{1,2})月(?P<d>\d{1,2})[日号]")
# "5/13开的": a month/day pair only counts right before "开" (fractions, scores).
_DATE_SLASH_NO_YEAR = re.compile(r"(?<![\d/.])(?P<m>\d{1,2})/(?P<d>\d{1,2})(?=\s*开)")
_DATE_RELATIVE = re.compile(r"(?P<w>今天|昨天|前天)(?=[^,，。]{0,3}开)")
_RELATIVE_DAYS = {"今天": 0, "昨天": 1, "前天": 2}

_MOBILE = re.compile(r"(?<![\d.])(?:\+?86[\s-]?)?1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}(?![\d.])")
_LANDLINE = re.compile(
    r"(?<![\d.])(?:\(0\d{2,3}\)|0\d{2,3}[\s-])\s?[2-9]\d{2,3}[\s-]?\d{4}(?:-\d{1,5})?(?![\d.])"
)
_HOTLINE = re.compile(r"(?<![\d.])[48]00[\s-]?\d{3}[\s-]?\d{4}(?![\d.])")
_PERCENT = re.compile(r"\d+(?:\.\d+)?\s*%")
_TAXID_TOKEN = re.compile(
    r"(?<![0-9A-Z])(?=[0-9A-Z]*[A-Z])(?=(?:[A-Z]*\d){8})[0-9A-Z]{15,20}(?![0-9A-Z])"
)

_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
# After a currency sign a space may separate thousands ("¥ 1 060.00").
_MONEY_BEFORE = re.compile(
    rf"(?:¥|\$|RMB|人民币)\s*(?P<n>\d{{1,3}}(?: \d{{3}})+(?:\.\d+)?(?! ?\d)|{_NUM})"
    r"(?P<wan>\s*万)?(?!\d)"
)
_MONEY_AFTER = re.compile(
    rf"(?<![\d.])(?<!\d,)(?P<n>{_NUM})\s*(?:(?P<wan>万)\s*(?:元|块|圆|RMB)?|(?:元|块|圆|RMB))"
    r"(?:(?P<jiao>\d)[角毛])?"
)
_DECIMAL = re.compile(
    r"(?<![\d.])(?<!\d,)(?P<n>\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d+\.\d{1,2})(?![\d.]|,\d)"
)
_BRACKETED = re.compile(r"\s*(?:元|块)?\s*[(（]([^)）]*)[)）]")
_LONG_DIGIT_RUN = re.compile(r"\d{30,}")
_DIGIT_RUN = re.compile(r"(?<!\d)(?<!\d\.)\d+(?:[ \t\-]{1,2}\d+)*(?![\d.])")


def _to_amount(number: str, wan: bool = False, jiao: str | None = None) -> Decimal | None:
    try:
        value = Decimal(number.replace(",", "").replace(" ", ""))
    except InvalidOperation:
        return None
    if wan:
        value *= 10000
    if jiao:
        value += Decimal(jiao) / 10
    return value.quantize(CENT)


class _Extractor:
    def __init__(self, text: str, today: datetime.date):
        self.raw = text
        self.today = today
        t = normalise(text)
        # Phrases with digits inside labels must not read as numbers.
        t = re.sub(r"[后末]\s*6\s*位", "后六位", t)
        t = re.sub(r"(?<!\d)\d{1,2}\s*位(?![\d.])", "几位", t)
        # No field is longer than 20 digits; blanking longer runs keeps every later
        # pattern linear (a 2000-digit run would make them quadratic).
        t = _LONG_DIGIT_RUN.sub(lambda m: "#" * len(m[0]), t)
        self.text = t
        # The text with taken spans blanked, so later patterns cannot reach into them.
        self.masked = t
        self.spans: list[_Span] = []

    # -- span bookkeeping --------------------------------------------------
    def _free(self, start: int, end: int) -> bool:
        return "\x00" not in self.masked[start:end]

    def _take(self, span: _Span) -> None:
        width = span.end - span.start
        self.masked = f"{self.masked[: span.start]}{chr(0) * width}{self.masked[span.end :]}"
        self.spans.append(span)

    def _masked(self) -> str:
        return self.masked

    def _scan(self, pattern: re.Pattern, kind: str, make) -> None:
        for m in pattern.finditer(self._masked()):
            if self._free(m.start(), m.end()):
                value = make(m)
                if value is not False:
                    self._take(_Span(m.start(), m.end(), kind, value))

    def _label_before(self, start: int, prev_end: int) -> Role | None:
        """Return the role of the label closest before start, within its clause."""
        gap = self.text[prev_end:start]
        breaks = list(_CLAUSE_BREAK.finditer(gap))
        tail = gap[breaks[-1].end() :] if breaks else gap
        labels = label_roles(tail)
        if not labels and breaks and not tail.strip(" :是为"):
            labels = label_roles(gap)
        return labels[-1][1] if labels else None

    # -- passes ------------------------------------------------------------
    def run(self) -> InvoiceFields:
        self._scan(_PERCENT, "skip", lambda m: None)
        self._scan(_DATE_FULL, "date", self._full_date)
        self._scan(_DATE_SHORT_YEAR, "date", self._short_year_date)
        self._scan(_DATE_NO_YEAR, "date", self._no_year_date)
        self._scan(_DATE_SLASH_NO_YEAR, "date", self._no_year_date)
        self._scan(_DATE_RELATIVE, "relative_date", self._relative_date)
        self._scan(_TAXID_TOKEN, "taxid", lambda m: m[0])
        self._scan(_MOBILE, "skip", lambda m: None)
        self._scan(_LANDLINE, "skip", lambda m: None)
        self._scan(_MONEY_BEFORE, "amount", lambda m: _to_amount(m["n"], bool(m["wan"])))
        self._scan(_MONEY_AFTER, "amount", lambda m: _to_amount(m["n"], bool(m["wan"]), m["jiao"]))
        self._scan(_HOTLINE, "skip", lambda m: None)
        self._scan(_DECIMAL, "amount", lambda m: _to_amount(m["n"]))
        for m in _DIGIT_RUN.finditer(self._masked()):
            if self._free(m.start(), m.end()):
                self._digit_run(m)
        self.spans.sort(key=lambda s: s.start)
        prev_end = 0  # spans never overlap: the previous one ends where a label may start
        for span in self.spans:
            span.role = self._label_before(span.start, prev_end)
            prev_end = span.end
        return self._assign()

    def _full_date(self, m: re.Match):
        if m["s1"] == "年" and m["s2"] != "月":
            return False
        if m["s1"] != "年" and m["s1"] != m["s2"]:
            return False
        return valid_date(int(m["y"]), int(m["m"]), int(m["d"])) or False

    def _short_year_date(self, m: re.Match):
        return valid_date(2000 + int(m["y"]), int(m["m"]), int(m["d"])) or False

    def _no_year_date(self, m: re.Match):
        date = valid_date(self.today.year, int(m["m"]), int(m["d"]))
        if date and date > self.today:
            date = valid_date(self.today.year - 1, int(m["m"]), int(m["d"]))
        return date or False

    def _relative_date(self, m: re.Match):
        return self.today - datetime.timedelta(days=_RELATIVE_DAYS[m["w"]])

    def _digit_run(self, m: re.Match) -> None:
        """Split a run of digit groups into tokens: small groups join, big ones stand."""
        groups = [(g.start(), g.end()) for g in re.finditer(r"\d+", m[0])]
        base = m.start()
        pending: list[tuple[int, int]] = []

        def flush():
            if pending:
                start, end = base + pending[0][0], base + pending[-1][1]
                digits = re.sub(r"\D", "", self.text[start:end])
                self._take(_Span(start, end, "digits", digits))
                pending.clear()

        for start, end in groups:
            if end - start <= 5:
                pending.append((start, end))
            else:
                flush()
                pending.append((start, end))
                flush()
        flush()

    # -- assignment --------------------------------------------------------
    def _assign(self) -> InvoiceFields:
        out: dict = {}
        dates: list[tuple[bool, datetime.date]] = []
        relative_dates: list[datetime.date] = []  # 今天 / 昨天 / 前天
        amounts: list[tuple[Role | None, Decimal]] = []
        tax_ids: list[tuple[bool, str]] = []
        loose: list[_Span] = []
        for span in self.spans:
            role = span.role
            if span.kind == "date":
                dates.append((role is Role.DATE or self._date_context(span), span.value))
            elif span.kind == "relative_date":
                relative_dates.append(span.value)
            elif span.kind == "amount":
                if role is Role.TAX_AMOUNT or role is Role.DISTRACTOR:
                    continue
                if role in _DIGIT_ROLES and re.fullmatch(
                    r"[\d,]+", self.text[span.start : span.end]
                ):
                    # Voice recognition writes long numbers with thousands separators.
                    span.kind, span.value = (
                        "digits",
                        self.text[span.start : span.end].replace(",", ""),
                    )
                    if not self._labelled_digits(span, out, dates, amounts, tax_ids):
                        loose.append(span)
                    continue
                # "金额：¥106.00（含税）": a bracketed note right after the amount beats the label.
                bracketed = self._trailing_hint(span, bracketed=True)
                if bracketed is not None:
                    kind = bracketed
                else:
                    kind = role if role in AMOUNT_ROLES else self._trailing_hint(span)
                amounts.append((kind, span.value))
            elif span.kind == "taxid":
                self._tax_token(span, tax_ids)
            elif span.kind == "digits":
                if not self._labelled_digits(span, out, dates, amounts, tax_ids):
                    loose.append(span)
        self._loose_digits(loose, out, dates, tax_ids, amounts, bool(relative_dates))
        if out.get("invoice_code"):
            out.pop("rejected_code", None)
        elif (rejected := out.get("rejected_code")) and looks_like_digital_number(
            rejected + out.get("invoice_number", ""), today=self.today
        ):
            # A 数电 number cut into "code + number": kept as such, diagnosed as a split.
            out["invoice_code"] = out.pop("rejected_code")
        labelled_dates = [d for labelled, d in dates if labelled]
        if dates:
            out["issue_date"] = (labelled_dates or [d for _lab, d in dates])[0]
        elif relative_dates:
            # "今天开的，日期2026-11-30": a written date wins over 今天 / 昨天 in the same message.
            out["issue_date"] = relative_dates[0]
        if tax_ids:
            out["seller_tax_id"] = sorted(tax_ids, key=lambda t: not t[0])[0][1]
        decoded = None
        if out.get("invoice_code") or len(out.get("invoice_number") or "") == 20:
            decoded = invoice_decode(
                code=out.get("invoice_code"), number=out.get("invoice_number"), today=self.today
            )
            out["kind"] = decoded.kind.value
            out["region"] = decoded.region
        if amounts:
            out["amount_kind"], out["amount"] = self._pick_amount(amounts, decoded)
            if out["amount_kind"] is not None:
                out["amount_kind"] = out["amount_kind"].value
        return InvoiceFields(**out)

    def _date_context(self, span: _Span) -> bool:
        after = self.text[span.end : span.end + 4]
        return any(w in after for w in DATE_CONTEXT_WORDS)

    def _trailing_hint(self, span: _Span, *, bracketed: bool = False) -> Role | None:
        after = self.text[span.end : span.end + 8]
        after = re.split(r"\d", after)[0]
        if bracketed:
            after = m[1] if (m := _BRACKETED.match(after)) else ""
        for hint, role in TRAILING_AMOUNT_HINTS:
            if hint in after:
                return role
        return None

    @staticmethod
    def _pick_amount(amounts, decoded):
        wanted = None
        if decoded is not None:
            need = decoded.extra_field
            if need in (ExtraField.AMOUNT_EXCLUDING_TAX, ExtraField.VEHICLE_PRICE):
                wanted = Role.AMOUNT_EXCLUDING
            elif need is ExtraField.TOTAL_INCLUDING_TAX:
                wanted = Role.AMOUNT_TOTAL
        for kind, value in amounts:
            if kind is wanted and wanted is not None:
                return kind, value
        kind, value = amounts[0]
        if kind is None and wanted is Role.AMOUNT_TOTAL:
            # The one amount a 数电 invoice is checked with: "1130元" there is its total.
            return wanted, value
        return kind, value

    def _tax_token(self, span: _Span, tax_ids: list) -> None:
        value: str = span.value
        if span.role in (Role.BUYER_TAX_ID, Role.DISTRACTOR):
            return
        if span.role is Role.TAX_ID:
            tax_ids.append((True, value))
        elif len(value) == 18 and not id_card_is_valid(value) and value[0] in "123456789ABCDEFGNY":
            tax_ids.append((False, value))

    def _labelled_digits(self, span, out, dates, amounts, tax_ids) -> bool:
        """Use the label before a digit token when its shape fits; True when consumed."""
        digits: str = span.value
        n = len(digits)
        role = span.role
        if role is Role.DISTRACTOR or role is Role.BUYER_TAX_ID or role is Role.TAX_AMOUNT:
            return True
        if role is Role.TAX_ID and n in (15, 17, 18, 20):
            tax_ids.append((True, digits))
            return True
        if role is Role.CODE and n in (10, 12) and "invoice_code" not in out:
            out["invoice_code"] = digits
            return True
        if role is Role.CODE and n == 20 and "invoice_number" not in out:
            out["invoice_number"] = digits
            return True
        if role is Role.NUMBER and n in (8, 20) and "invoice_number" not in out:
            out["invoice_number"] = digits
            return True
        if role is Role.CHECK and n in (6, 20) and "check_code" not in out:
            out["check_code"] = digits[-6:]
            return True
        if role is Role.DATE and n == 8 and (date := compact_date(digits)):
            dates.append((True, date))
            return True
        if role in AMOUNT_ROLES and n <= 9 and not (n == 8 and compact_date(digits)):
            amounts.append((role, Decimal(digits).quantize(CENT)))
            return True
        return False

    def _loose_digits(
        self, loose: list[_Span], out, dates, tax_ids, amounts, relative_date: bool
    ) -> None:
        """Classify unlabelled digit tokens by shape, then by order."""
        eights: list[_Span] = []
        twenties: list[str] = []
        sixes: list[str] = []
        for span in loose:
            digits: str = span.value
            n = len(digits)
            if n in (10, 12) and "invoice_code" not in out:
                if looks_like_code(digits, today=self.today):
                    out["invoice_code"] = digits
                else:
                    out.setdefault("rejected_code", digits)
            elif n == 8:
                eights.append(span)
            elif n == 20:
                twenties.append(digits)
            elif n == 6:
                sixes.append(digits)
            elif n == 18 and not id_card_is_valid(digits) and uscc_is_valid(digits):
                tax_ids.append((False, digits))
        for digits in twenties:
            self._twenty(digits, out)
        have_date = bool(dates)
        plain = [s for s in eights if not compact_date(s.value, self.today)]
        datey = [s for s in eights if compact_date(s.value, self.today)]
        if "invoice_number" not in out:
            if plain:
                out["invoice_number"] = plain.pop(0).value
            elif datey and (have_date or len(datey) >= 2):
                out["invoice_number"] = datey.pop(0).value
        if not have_date and datey:
            dates.append((False, compact_date(datey[0].value)))
        bare = self._bare_amount(loose, out, have_dates=bool(dates) or relative_date)
        if bare is not None and not amounts:
            span, role = bare
            amounts.append((role, Decimal(span.value).quantize(CENT)))
            if span.value in sixes:
                sixes.remove(span.value)  # the total of a 数电 invoice, not a check code
        if (
            sixes
            and "check_code" not in out
            and ("invoice_code" in out or "invoice_number" in out or "校验" in self.text)
        ):
            out["check_code"] = sixes[0]

    def _bare_amount(
        self, loose: list[_Span], out: dict, *, have_dates: bool
    ) -> tuple[_Span, Role | None] | None:
        """The amount typed without 元 after the invoice and its date, when the kind needs one.

        "24110000000012345678 2026-11-03 1130": a 数电 number needs the total, so the one
        short number left at the end is the total, not a check code or nothing.
        """
        identity = [v for v in (out.get("invoice_code"), out.get("invoice_number")) if v]
        if not identity or not have_dates:
            return None
        decoded = invoice_decode(
            code=out.get("invoice_code"), number=out.get("invoice_number"), today=self.today
        )
        need = extra_field_for(decoded.kind)
        short = [s for s in loose if len(s.value) <= _BARE_AMOUNT_MAX_DIGITS]
        if need not in _NEEDED_AMOUNT or len(short) != 1:
            return None
        role = _NEEDED_AMOUNT[need]
        span = short[0]
        if span.role is not None or span.value.startswith("0"):
            return None
        before = [s for s in self.spans if s.end <= span.start]
        after_identity = any(s.kind == "digits" and s.value in identity for s in before)
        after_date = any(s.kind in ("date", "relative_date") or self._is_date(s) for s in before)
        if not (after_identity and after_date):
            return None
        if any(s.start >= span.end and s.kind != "skip" for s in self.spans):
            return None  # not the last thing said
        if not _AFTER_BARE_AMOUNT.match(self.text, span.end):
            return None  # "3张", "2次": a count, not money
        return span, role

    def _is_date(self, span: _Span) -> bool:
        return span.kind == "digits" and len(span.value) == 8 and bool(compact_date(span.value))

    def _twenty(self, digits: str, out: dict) -> None:
        if "invoice_code" in out or "invoice_number" in out:
            if "check_code" not in out:
                out["check_code"] = digits[-6:]
        elif looks_like_digital_number(digits, today=self.today):
            out["invoice_number"] = digits
        elif looks_like_code(digits[:12], today=self.today):
            out["invoice_code"], out["invoice_number"] = digits[:12], digits[12:]
        elif "check_code" not in out:
            out["check_code"] = digits[-6:]


def fields_extract(text: str, *, today: datetime.date | None = None) -> InvoiceFields:
    """Read invoice fields from a message; absent fields are None."""
    if not text or not text.strip():
        return InvoiceFields()
    return _Extractor(text[:2000], today or timezone.localdate()).run()
