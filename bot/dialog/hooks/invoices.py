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
"""

import datetime
import re
import time
from dataclasses import dataclass, replace
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string

from bot.conversations.models import Attachment, Message
from bot.conversations.services import attachment_store
from bot.dialog.hooks.incidents import incident_addendum, incident_result_matters
from bot.dialog.state import Turn
from bot.helpdesk import handoff
from bot.helpdesk.backend import ticket_replies_waiting_send
from bot.helpdesk.escalation import invoice_escalate, message_ref
from bot.invoices.decoding import extra_field_for, invoice_decode
from bot.invoices.extraction import InvoiceFields, fields_extract
from bot.invoices.kinds import ExtraField, Kind
from bot.invoices.labels import ANSWER_LABELS, CANCEL_WORDS
from bot.invoices.numerals import normalise
from bot.invoices.photos import PhotoError, PhotoFailure, photo_fetch
from bot.invoices.qr import DECODE_BUDGET_SECONDS, qr_image_decode
from bot.invoices.services import invoice_check, invoice_check_queue
from bot.invoices.verification import verification_is_fast
from bot.nlu.vocabulary import Intent, NluAction
from bot.notices.models import NoticeKind
from bot.notices.services import notice_send
from tickets import selectors as ticket_selectors
from tickets import services as ticket_services
from tickets.models import Ticket

_PUNCTUATION = re.compile(r"[\s,，。.!！?？~～、；;：:]+")
# A bare short number is a quick-reply choice ("1", "2") or a rating, never an invoice field.
_QUICK_REPLY = re.compile(r"\s*\d{1,2}\s*")
_IDENTITY = ("invoice_code", "invoice_number")
_DIGIT = re.compile(r"\d")
# Download and decoding of a photo should be over by then, leaving time for the check.
_PHOTO_SECONDS = 3.5


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
    turn: Turn, *, fields: dict, done: bool, from_photo: bool = False, started: bool = True
) -> None:
    """Keep the conversation's fields; `started` is False for fields kept from a question."""
    state = {"fields": fields, "done": done, "from_photo": from_photo}
    if not started:
        state["stashed"] = True
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
def _advance(turn: Turn, data: dict, *, from_photo: bool = False) -> str:
    """Ask for what is missing, or check the invoice."""
    missing, wrong_amount = _missing(data)
    fields = _fields_from_state(data)
    if missing:
        _state_set(turn, fields=data, done=False, from_photo=from_photo)
        return _render(
            "invoice_need",
            fields=fields,
            kind=data.get("kind"),
            region=data.get("region"),
            has_fields=any(k not in ("kind", "region") for k in data),
            missing=missing,
            wrong_amount=wrong_amount,
        )
    _state_set(turn, fields=data, done=True, from_photo=from_photo)
    return _check(turn, fields, from_photo=from_photo)


def _check(turn: Turn, fields: InvoiceFields, *, from_photo: bool) -> str:
    context = {"fields": fields, "kind": fields.kind, "region": fields.region}
    if verification_is_fast():
        message = turn.message
        outcome = invoice_check(follower_id=message.follower_id, fields=fields)
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
    invoice_check_queue(follower_id=turn.message.follower_id, fields=fields)
    return _render("invoice_checking", **context)


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
    fields = _read_answer(text, awaiting)
    if fields.is_empty and not fields.seller_tax_id:
        return None
    has_identity = bool(fields.invoice_code or fields.invoice_number)
    if state is None and not has_identity:
        # A date or an amount alone is usually part of a question ("5月13日开的票查不到"):
        # the NLU answers it, and the fields wait here in case the invoice follows.
        _state_set(turn, fields=_merge({}, fields), done=False, started=False)
        return None
    if state is not None and state.get("done") and has_identity:
        old = {}  # another invoice
    merged = _merge(old, fields)
    if state is not None and state.get("done") and merged == old:
        return None  # nothing new about the invoice just checked: let the NLU answer
    return _advance(turn, merged)


def start_wants(turn: Turn) -> bool:
    """Whether the follower asked to check an invoice."""
    nlu = turn.understood
    return nlu.action == NluAction.ANSWER and nlu.intent == Intent.VERIFY_INVOICE


def start_act(turn: Turn) -> str | None:
    """Start a check, or resume the one being collected."""
    state = _state_get(turn)
    if state is not None and not state.get("done") and state["fields"]:
        return _advance(turn, state["fields"], from_photo=state.get("from_photo", False))
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
    return _advance(turn, _decoded(_fields_to_state(read.fields)), from_photo=True)


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
            invoice_check_queue(follower_id=message.follower_id, fields=read.fields)
            return "checked"
        notice_send(
            kind=NoticeKind.INVOICE_CHECK_RESULT,
            follower_id=message.follower_id,
            text=_render("invoice_photo_failed", reason=read.failure),
            idempotency_key=f"photo-retry:{message.pk}",
        )
    return read.failure
