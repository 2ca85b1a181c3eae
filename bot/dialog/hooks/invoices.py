"""The invoice part of a conversation: fields in text, photos, slot filling.

A check is collected over one or several messages, in any order. The state
(the fields so far, what the bot asked for) is the `invoice` part of the
follower's conversation state (`bot.dialog.state`), kept for a few minutes.
Once everything the kind needs is there the invoice is checked: at once when
every verification backend is local, else the check is queued and its answer
pushed. After a check the fields stay for the same few minutes, so that a
corrected field ("校验码是…") re-checks the same invoice. A date or an amount
alone does not start a check (it is usually part of a question the NLU
answers) but is kept in case the invoice's code and number follow.

When a diagnosis says a person must act, the conversation is escalated with a
snapshot of the invoice and the reply gives both the diagnosis and the ticket.
A photo sent while the follower has an active ticket is added to it as well.

Reading slips the dialog owns: a typed 10- or 12-digit code that does not decode is
not kept, and the reply says which digits are wrong; fields read from a QR code are
remembered as such (`qr` in the state) until typed over, so an answer never calls them
a typing slip; "明天帮我复查" sets a re-check for tomorrow morning (`recheck_*`); the
knowledge base's list of causes of "not found" drops "not a Beijing invoice" when the
invoice is known to be one (`causes_*`).
"""

import datetime
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from bot.conversations.models import Attachment, Message
from bot.conversations.services import attachment_store
from bot.dialog.hooks.incidents import incident_addendum, incident_result_matters
from bot.dialog.state import Turn
from bot.helpdesk import handoff
from bot.helpdesk.backend import ticket_replies_waiting_send
from bot.helpdesk.escalation import invoice_escalate, message_ref
from bot.invoices.decoding import (
    Problem,
    code_decode,
    extra_field_for,
    invoice_decode,
    looks_like_digital_prefix,
)
from bot.invoices.extraction import InvoiceFields, fields_extract
from bot.invoices.kinds import ExtraField, Kind
from bot.invoices.labels import ANSWER_LABELS, CANCEL_WORDS, RECHECK_MUST_SAY, RECHECK_REQUEST
from bot.invoices.numerals import normalise
from bot.invoices.photos import PhotoError, PhotoFailure, photo_fetch
from bot.invoices.qr import DECODE_BUDGET_SECONDS, qr_image_decode
from bot.invoices.regions import HOME_REGION, PLANNED_CITIES, PROVINCES
from bot.invoices.selectors import verification_latest_of
from bot.invoices.services import (
    invoice_check,
    invoice_check_queue,
    invoice_recheck_schedule,
    record_fields,
)
from bot.invoices.verification import verification_is_fast
from bot.nlu.loader import current_index
from bot.nlu.vocabulary import Intent, NluAction
from bot.notices.models import NoticeKind
from bot.notices.services import notice_send
from tickets import selectors as ticket_selectors
from tickets import services as ticket_services
from tickets.models import Ticket

_PUNCTUATION = re.compile(r"[\s,，。.!！?？~～、；;：:]+")
# A bare short number is a quick-reply choice ("1", "2") or a rating, never an invoice field.
_QUICK_REPLY = re.compile(r"\s*\d{1,2}\s*")
_IDENTITY = ("invoice_code", "invoice_number", "rejected_code")
_DIGIT = re.compile(r"\d")
# Download and decoding of a photo should be over by then, leaving time for the check.
_PHOTO_SECONDS = 3.5
# "明天帮我复查" with no invoice in the conversation: the follower's last check this recent.
RECHECK_RECENT = datetime.timedelta(hours=1)
# Flaws of a code that a document outside the VAT system would also have (定额, 通用机打).
_NON_VAT_FLAWS = frozenset({Problem.UNKNOWN_KIND, Problem.BAD_LEADING_DIGIT})
# The knowledge-base entry whose answer lists the causes of "not found", the region among
# them; its variant for an invoice known to be from the home region is a template.
NOT_FOUND_CAUSES_ENTRY = "not_found_general"
# Knowledge-base entries of `verify_invoice` that explain verification rather than ask
# for one: their answer is sent as it is, and no check is started.
VERIFY_INFO_ENTRIES = frozenset(
    {"verify_check_code", "verify_must", "verify_non_vat", "verify_results"}
)
# Matching patterns (not user-facing): the follower says the invoice is a home-region one.
_HOME_INVOICE_SAID = re.compile(
    rf"{HOME_REGION}(?:本地)?(?:开|开具|开出|开出来)?(?:的)?(?:发票|票|专票|普票|数电票|电子发票)"
    rf"|(?:在|是){HOME_REGION}(?:开|开具)"
)
_OTHER_REGIONS = [n for n in (*PROVINCES.values(), *PLANNED_CITIES.values()) if n != HOME_REGION]
_ELSEWHERE_WORDS = ("外地", "外省", "外市", "异地", "跨省", "跨地区", "跨区域", "省外")
_ELSEWHERE_SAID = re.compile(
    "|".join((*_ELSEWHERE_WORDS, f"不是{HOME_REGION}", f"非{HOME_REGION}", *_OTHER_REGIONS))
)


def _render(template: str, **context) -> str:
    return render_to_string(f"bot/replies/{template}.txt", context).strip()


# -- state --------------------------------------------------------------------------------
def _fields_to_state(fields: InvoiceFields) -> dict:
    return {k: v for k, v in fields.as_json().items() if v is not None}


def _fields_from_state(data: dict) -> InvoiceFields:
    values = dict(data)
    if values.get("issue_date"):
        values["issue_date"] = datetime.date.fromisoformat(values["issue_date"])
    if values.get("amount") is not None:
        values["amount"] = Decimal(values["amount"])
    return InvoiceFields(**values)


def _state_get(turn: Turn) -> dict | None:
    state = turn.state.invoice
    return state if isinstance(state, dict) else None


def _state_set(
    turn: Turn,
    *,
    fields: dict,
    done: bool,
    from_photo: bool = False,
    started: bool = True,
    recheck: bool = False,
    qr: Sequence[str] = (),
) -> None:
    """Keep the conversation's fields; `started` is False for fields kept from a question.

    `recheck`: the follower asked for a re-check tomorrow, set once the fields are complete;
    `qr`: the fields read from a QR code and not typed over since.
    """
    state = {"fields": fields, "done": done, "from_photo": from_photo}
    if not started:
        state["stashed"] = True
    if recheck:
        state["recheck"] = True
    qr = sorted(name for name in qr if name in fields)
    if qr:
        state["qr"] = qr
    turn.state.invoice_set(state)


def _state_clear(turn: Turn) -> None:
    turn.state.invoice_set(None)


# -- fields -------------------------------------------------------------------------------
def _merge(old: dict, new: InvoiceFields) -> dict:
    """Lay the new message's fields over the collected ones."""
    merged = dict(old)
    incoming = _fields_to_state(new)
    incoming.pop("kind", None)
    incoming.pop("region", None)
    number = incoming.get("invoice_number", "")
    if len(number) == 20 and "invoice_code" not in incoming:
        merged.pop("invoice_code", None)  # a 数电 number has no code
    if "invoice_code" in incoming and "invoice_number" not in incoming:
        if len(merged.get("invoice_number", "")) == 20:
            merged.pop("invoice_number", None)
    if "amount" in incoming and "amount_kind" not in incoming:
        merged.pop("amount_kind", None)
    if "rejected_code" in incoming:
        merged.pop("invoice_code", None)  # asked again: the wrong code replaces the old one
    if any(name in incoming for name in _IDENTITY):
        merged.pop("kind", None)  # decoded again below; a QR's kind only holds for its invoice
        merged.pop("region", None)
    merged.update(incoming)
    return _decoded(merged)


def _decoded(data: dict) -> dict:
    if data.get("kind"):
        return data
    code, number = data.get("invoice_code"), data.get("invoice_number")
    if code or len(number or "") == 20:
        decoded = invoice_decode(code=code, number=number)
        data = {**data, "kind": decoded.kind.value}
        if decoded.region:
            data["region"] = decoded.region
    return data


def _screened(fields: InvoiceFields, old: dict) -> InvoiceFields:
    """Keep a typed code only when it decodes; one that does not is named in the reply.

    Ten or twelve digits typed as a code (labelled or not) whose region, year, kind or
    first digit is impossible would only be refused later, or sent to a backend that
    finds nothing. A 数电 number cut into "code + number" is kept: the check names it.
    """
    code = fields.invoice_code or fields.rejected_code
    if not code or len(code) not in (10, 12) or not code.isdigit():
        return fields
    number = fields.invoice_number or old.get("invoice_number")
    if invoice_decode(code=code, number=number).flaws:
        return replace(fields, invoice_code=None, rejected_code=code, kind=None, region=None)
    return replace(fields, invoice_code=code, rejected_code=None)


def _rejection(code: str | None) -> dict:
    """What the reply says about a typed code that does not decode."""
    if not code:
        return {}
    flaws = code_decode(code).flaws
    digital = len(code) == 12 and looks_like_digital_prefix(code)
    return {
        "rejected": code,
        "flaws": [flaw.as_json() for flaw in flaws],
        "digital_hint": digital,
        "non_vat_hint": not digital and any(f.problem in _NON_VAT_FLAWS for f in flaws),
    }


def _missing(data: dict) -> tuple[list[str], str | None]:
    """Return what this kind still needs and whether the amount given is the wrong one."""
    missing: list[str] = []
    code, number = data.get("invoice_code"), data.get("invoice_number")
    if not code and not number:
        missing.append("identity")
    elif not number:
        missing.append("invoice_number")
    elif not code and len(number) != 20:
        missing.append("invoice_code")
    if not data.get("issue_date"):
        missing.append("issue_date")
    extra = extra_field_for(data.get("kind"))
    wrong_amount = None
    amount_kind = data.get("amount_kind")
    if extra is ExtraField.CHECK_CODE and not data.get("check_code"):
        missing.append(extra.value)
    elif extra in (ExtraField.AMOUNT_EXCLUDING_TAX, ExtraField.VEHICLE_PRICE):
        if amount_kind == "total":
            wrong_amount = "total_given"
        if data.get("amount") is None or wrong_amount:
            missing.append(extra.value)
    elif extra is ExtraField.TOTAL_INCLUDING_TAX:
        if amount_kind == "excluding_tax" and Kind(data["kind"]).is_digital:
            wrong_amount = "excluding_given"
        if data.get("amount") is None or wrong_amount:
            missing.append(extra.value)
    return missing, wrong_amount


def _read_answer(text: str, awaiting: str | None) -> InvoiceFields:
    """Read a message; a bare answer to the bot's question is read as that field."""
    fields = fields_extract(text)
    if awaiting is None or awaiting not in ANSWER_LABELS:
        return fields
    got = _fields_to_state(fields)
    wanted = {
        "identity": ("invoice_code", "invoice_number"),
        "check_code": ("check_code",),
        "issue_date": ("issue_date",),
        "amount_excluding_tax": ("amount",),
        "total_including_tax": ("amount",),
        "vehicle_price": ("amount",),
    }.get(awaiting, (awaiting,))
    if any(name in got for name in wanted):
        return fields
    labelled = fields_extract(f"{ANSWER_LABELS[awaiting]}{text}")
    if any(name in _fields_to_state(labelled) for name in wanted):
        return labelled
    return fields


def _is_cancel(text: str) -> bool:
    core = _PUNCTUATION.sub("", text).rstrip("吧了啊呀")
    return core in CANCEL_WORDS or f"{core}了" in CANCEL_WORDS


# -- the check ----------------------------------------------------------------------------
def _advance(
    turn: Turn,
    data: dict,
    *,
    from_photo: bool = False,
    recheck: bool = False,
    qr: Sequence[str] = (),
) -> str:
    """Ask for what is missing, or check the invoice (or set the re-check asked for)."""
    data = dict(data)
    rejected = data.pop("rejected_code", None)
    missing, wrong_amount = _missing(data)
    fields = _fields_from_state(data)
    flags = {"from_photo": from_photo, "recheck": recheck, "qr": qr}
    if missing:
        _state_set(turn, fields=data, done=False, **flags)
        return _render(
            "invoice_need",
            fields=fields,
            kind=data.get("kind"),
            region=data.get("region"),
            has_fields=any(k not in ("kind", "region") for k in data),
            missing=missing,
            wrong_amount=wrong_amount,
            recheck=recheck,
            **_rejection(rejected),
        )
    if recheck:
        return _recheck_set(turn, data, fields, from_photo=from_photo, qr=qr)
    _state_set(turn, fields=data, done=True, **flags)
    return _check(turn, fields, from_photo=from_photo, qr=qr)


def _check(turn: Turn, fields: InvoiceFields, *, from_photo: bool, qr: Sequence[str] = ()) -> str:
    context = {"fields": fields, "kind": fields.kind, "region": fields.region}
    if verification_is_fast():
        message = turn.message
        outcome = invoice_check(follower_id=message.follower_id, fields=fields, read_from_qr=qr)
        reply = _render(
            "invoice_result", outcome_text=outcome.reply, from_photo=from_photo, **context
        )
        if outcome.needs_person:
            told = invoice_escalate(
                follower=message.follower, message=message, fields=fields, outcome=outcome
            )
            reply = f"{reply}\n\n{told}"
        if incident_result_matters(outcome.result.value):
            notice = incident_addendum(follower_id=message.follower_id, region=outcome.region)
            if notice:
                reply = f"{reply}\n\n{notice}"
        return reply
    invoice_check_queue(follower_id=turn.message.follower_id, fields=fields, read_from_qr=qr)
    return _render("invoice_checking", **context)


def _day_word(moment: datetime.datetime) -> str:
    """今天 / 明天 / 后天 for a moment in the next days; empty after (the date says it)."""
    days = (timezone.localtime(moment).date() - timezone.localdate()).days
    return {0: "今天", 1: "明天", 2: "后天"}.get(days, "")


def _recheck_set(
    turn: Turn, data: dict, fields: InvoiceFields, *, from_photo: bool, qr: Sequence[str]
) -> str:
    """Set the re-check asked for, or say now why these fields cannot be checked."""
    outcome = invoice_recheck_schedule(
        follower_id=turn.message.follower_id, fields=fields, read_from_qr=qr
    )
    context = {"fields": fields, "kind": fields.kind, "region": fields.region}
    if outcome.check is not None:
        # The wish stays: once the follower corrects the field, the re-check is set.
        _state_set(turn, fields=data, done=True, from_photo=from_photo, recheck=True, qr=qr)
        return _render("invoice_recheck_refused", outcome_text=outcome.check.reply, **context)
    _state_set(turn, fields=data, done=True, from_photo=from_photo, qr=qr)
    at = timezone.localtime(outcome.next_check_at)
    return _render(
        "invoice_recheck_set",
        at=at,
        day=_day_word(at),
        code=fields.invoice_code or "",
        number=fields.invoice_number or "",
        **context,
    )


# -- hooks the router calls ---------------------------------------------------------------
def _started(state: dict | None) -> bool:
    return state is not None and not state.get("stashed")


def slots_wants(turn: Turn) -> bool:
    """Whether the text may carry invoice fields, or cancels a check the follower started."""
    text = turn.text
    if not text or _QUICK_REPLY.fullmatch(text):
        return False
    if _is_cancel(text):
        return _started(_state_get(turn))
    return _DIGIT.search(normalise(text)) is not None  # a number, maybe a spoken one


def slots_act(turn: Turn) -> str | None:
    """Answer a message carrying invoice fields, or continue collecting them."""
    text = turn.text
    state = _state_get(turn)
    if _is_cancel(text):
        _state_clear(turn)
        return _render("invoice_cancelled")
    collecting = state is not None and not state.get("done")
    old = state["fields"] if state else {}
    awaiting = _missing(old)[0][0] if collecting and _missing(old)[0] else None
    fields = _screened(_read_answer(text, awaiting), old)
    if fields.is_empty and not fields.seller_tax_id and not fields.rejected_code:
        return None
    has_identity = bool(fields.invoice_code or fields.invoice_number or fields.rejected_code)
    if state is None and not has_identity:
        # A date or an amount alone is usually part of a question ("5月13日开的票查不到"):
        # the NLU answers it, and the fields wait here in case the invoice follows.
        _state_set(turn, fields=_merge({}, fields), done=False, started=False)
        return None
    another = state is not None and bool(state.get("done")) and has_identity
    if another:
        old = {}  # another invoice
    merged = _merge(old, fields)
    if state is not None and state.get("done") and merged == old:
        return None  # nothing new about the invoice just checked: let the NLU answer
    typed = _fields_to_state(fields)
    qr = () if state is None or another else [n for n in state.get("qr", ()) if n not in typed]
    return _advance(turn, merged, recheck=bool(state and state.get("recheck")), qr=qr)


def start_wants(turn: Turn) -> bool:
    """Whether the follower asked to check an invoice (not how verification works: where
    the check code is, what a result means, whether every invoice must be checked, which
    documents the platform cannot check — those get the knowledge base's answer)."""
    nlu = turn.understood
    if nlu.action != NluAction.ANSWER or nlu.intent != Intent.VERIFY_INVOICE:
        return False
    return (turn.state.nlu or {}).get("entry") not in VERIFY_INFO_ENTRIES


def start_act(turn: Turn) -> str | None:
    """Start a check, or resume the one being collected."""
    state = _state_get(turn)
    if state is not None and not state.get("done") and state["fields"]:
        return _advance(
            turn,
            state["fields"],
            from_photo=state.get("from_photo", False),
            recheck=bool(state.get("recheck")),
            qr=state.get("qr", ()),
        )
    return invoice_start(turn)


def invoice_start(turn: Turn) -> str:
    """Ask for the fields an invoice check needs."""
    _state_set(turn, fields={}, done=False)
    return _render("invoice_start")


def _photo_to_ticket(turn: Turn) -> Ticket | None:
    """Add a photo to the follower's active ticket, so the agent sees it too; the ticket."""
    if turn.helpdesk_quiet is True:
        return None
    message = turn.message
    ticket = ticket_selectors.ticket_active_of(requester_ref=turn.openid)
    if ticket is None:
        return None
    ticket_services.ticket_requester_message_add(
        ticket=ticket, text=message.display_text, external_ref=message_ref(message)
    )
    ticket_replies_waiting_send(ticket=ticket, follower_id=message.follower_id)
    return ticket


@dataclass(frozen=True)
class PhotoRead:
    """A photo fetched and its QR code looked for: `fields`, or why not (`failure`)."""

    fields: InvoiceFields | None
    failure: str = ""
    data: bytes | None = None  # the photo itself, kept on the message (fetched once)


def photo_read(*, media_id: str, pic_url: str) -> PhotoRead:
    """Fetch a photo and read its invoice QR code; no database.

    The webhook calls it before it opens the message's transaction: the download and
    the decoding take up to 3.5 s, which must not be spent holding the follower's row
    and a connection inside a transaction.
    """
    started = time.monotonic()
    try:
        data = photo_fetch(media_id=media_id, pic_url=pic_url)
    except PhotoError as exc:
        return PhotoRead(fields=None, failure=exc.reason.value)
    # A slow download leaves less of WeChat's 5 seconds for looking hard at the photo.
    left = _PHOTO_SECONDS - (time.monotonic() - started)
    qr = qr_image_decode(data, budget_seconds=max(0.2, min(DECODE_BUDGET_SECONDS, left)))
    if not qr.ok or qr.fields is None:
        return PhotoRead(fields=None, failure=qr.reason.value if qr.reason else "", data=data)
    fields = replace(qr.fields, kind=qr.fields.kind or Kind.UNKNOWN.value)
    return PhotoRead(fields=fields, data=data)


def invoice_fields_read(text: str) -> InvoiceFields | None:
    """The invoice a message names (a code or a number), or None."""
    fields = fields_extract(text or "")
    if fields.invoice_code or fields.invoice_number:
        return fields
    return None


def invoice_photo(turn: Turn) -> str:
    """Answer a photo: read the invoice's QR code and check it like typed fields.

    `turn.photo`: the photo already read by the receive path (`photo_read`), outside
    the transaction; else it is read here. While a person has the ticket the photo
    joins it (with the invoice it shows as a card) and the bot only acknowledges.
    """
    ticket = _photo_to_ticket(turn)
    read = turn.photo
    if read is None:
        message = turn.message
        read = photo_read(media_id=message.media_id, pic_url=message.pic_url)
    if read.data:
        # WeChat's media expire after three days: the bytes fetched once are kept.
        attachment_store(message=turn.message, kind=Attachment.Kind.IMAGE, data=read.data)
    if handoff.handoff_holds(ticket=ticket):
        if read.fields is not None:
            handoff.handoff_invoice_attach(ticket=ticket, fields=read.fields, source="photo")
        return handoff.handoff_ack(openid=turn.openid, ticket=ticket)
    if read.fields is None:
        if read.failure == PhotoFailure.FETCH_FAILED:
            photo_retry_queue(message=turn.message)
            return _render("invoice_photo_retrying")
        return _render("invoice_photo_failed", reason=read.failure)
    state = _state_get(turn)
    data = _decoded(_fields_to_state(read.fields))
    return _advance(
        turn,
        data,
        from_photo=True,
        recheck=bool(state and state.get("recheck")),
        qr=_qr_names(read.fields),
    )


def _qr_names(fields: InvoiceFields) -> list[str]:
    """The fields a QR code gave (what the follower did not type)."""
    return [name for name in _fields_to_state(fields) if name not in ("kind", "region")]


def photo_retry_queue(*, message: Message) -> None:
    """Fetch the photo again later, off the request path (WeChat's media server was slow
    or failed within the webhook's few seconds)."""
    from bot.dialog.tasks import photo_retry

    countdown = settings.INVOICE_PHOTO_RETRY_SECONDS
    transaction.on_commit(lambda: photo_retry.apply_async((message.pk,), countdown=countdown))


def photo_retry_run(*, message_id: int) -> str:
    """Fetch and read a photo the webhook could not fetch in time; push what came of it.

    Idempotent: a photo already kept is not fetched again, and the follower gets one
    notice per photo whatever the task's retries (the notice's idempotency key). A photo
    that shows an invoice is checked and its result pushed like a queued check.
    """
    message = (
        Message.objects.filter(pk=message_id, msg_type=Message.Type.IMAGE)
        .only("pk", "follower_id", "media_id", "pic_url")
        .first()
    )
    if message is None:
        return "gone"
    if Attachment.objects.filter(message_id=message.pk).exists():
        return "kept already"
    read = photo_read(media_id=message.media_id, pic_url=message.pic_url)
    with transaction.atomic():
        if read.data:
            attachment_store(message=message, kind=Attachment.Kind.IMAGE, data=read.data)
        if read.fields is not None:
            invoice_check_queue(
                follower_id=message.follower_id,
                fields=read.fields,
                read_from_qr=_qr_names(read.fields),
            )
            return "checked"
        notice_send(
            kind=NoticeKind.INVOICE_CHECK_RESULT,
            follower_id=message.follower_id,
            text=_render("invoice_photo_failed", reason=read.failure),
            idempotency_key=f"photo-retry:{message.pk}",
        )
    return read.failure


# -- "明天帮我复查" ---------------------------------------------------------------------
def is_recheck_request(text: str) -> bool:
    """Whether a message (or the offered choice it picked) asks to re-check tomorrow."""
    core = _PUNCTUATION.sub("", text or "")
    if len(core) > 14 or not any(word in core for word in RECHECK_MUST_SAY):
        return False
    return RECHECK_REQUEST.fullmatch(core) is not None


def recheck_wants(turn: Turn) -> bool:
    """Whether the follower asked for a re-check tomorrow, typed or picked from the choices."""
    nlu = turn.understood
    return nlu is not None and is_recheck_request(nlu.choice or turn.text or "")


def _with_identity(data: dict | None) -> bool:
    return bool(data) and bool(data.get("invoice_code") or data.get("invoice_number"))


def recheck_act(turn: Turn) -> str:
    """Set a re-check tomorrow of the invoice the conversation knows, or ask for it first.

    The invoice known: the fields of this conversation (given, or just checked), else the
    follower's last check within `RECHECK_RECENT`.
    """
    state = _state_get(turn)
    if _started(state) and _with_identity(state["fields"]):
        return _advance(
            turn,
            state["fields"],
            from_photo=bool(state.get("from_photo")),
            recheck=True,
            qr=state.get("qr", ()),
        )
    record = verification_latest_of(
        follower_id=turn.message.follower_id, since=timezone.now() - RECHECK_RECENT
    )
    if record is not None:
        known = {k: v for k, v in _fields_to_state(record_fields(record)).items() if v != ""}
        return _advance(turn, _decoded(known), recheck=True)
    fields = state["fields"] if state else {}  # a date a question left is kept
    if fields:
        return _advance(turn, fields, recheck=True)
    _state_set(turn, fields={}, done=False, recheck=True)
    return _render("invoice_recheck_ask")


# -- the causes of "not found", for a home-region invoice -----------------------------
def _home_invoice(turn: Turn) -> str | None:
    """How the conversation knows the invoice is a home-region one: "invoice", "said", or None."""
    state = _state_get(turn)
    if state is not None and state["fields"].get("region") == HOME_REGION:
        return "invoice"
    text = normalise(turn.text or "")
    if _HOME_INVOICE_SAID.search(text) and not _ELSEWHERE_SAID.search(text):
        return "said"
    return None


def causes_wants(turn: Turn) -> bool:
    """Whether the NLU listed the causes of "not found" for an invoice known to be local."""
    nlu = turn.understood
    if nlu is None or nlu.action != NluAction.ANSWER or nlu.intent != Intent.INVOICE_NOT_FOUND:
        return False
    if (turn.state.nlu or {}).get("entry") != NOT_FOUND_CAUSES_ENTRY:
        return False
    return _home_invoice(turn) is not None


def causes_act(turn: Turn) -> None:
    """Put the home-region list of causes in place of the knowledge base's general one.

    The answer's choices (and whatever later hooks add) stay as they are: the understood
    reply is rewritten and the chain goes on, so the incident notice still follows it.
    """
    source = _home_invoice(turn)
    nlu = turn.understood
    index = current_index(version=turn.kb_version)
    entry = next((e for e in index.entries if e.key == NOT_FOUND_CAUSES_ENTRY), None)
    if source is None or entry is None or not nlu.text.startswith(entry.answer):
        return None  # an operator rewrote the answer: theirs stands
    text = _render("invoice_not_found_home", source=source, home=HOME_REGION)
    turn.understood = replace(nlu, text=text + nlu.text[len(entry.answer) :])
    return None
