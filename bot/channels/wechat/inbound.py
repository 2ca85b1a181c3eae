"""The webhook protocol: check the sender, open the envelope, hand over, seal the reply.

Everything a sender can put in a request ends in a definite 4xx or a reply;
nothing a sender sends produces a 5xx.
"""

import enum
import functools
import hashlib
import logging
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.utils.module_loading import import_string
from wechatpy.replies import TextReply

from bot.channels.wechat.crypto import CryptoError, MessageCipher, signature_matches
from bot.channels.wechat.dedup import Replayed, dedup_key_for
from bot.channels.wechat.parsing import MalformedXml, xml_to_fields
from bot.conversations.inbound import InboundMessage, ReplayGuard
from support import metrics

logger = logging.getLogger(__name__)

SUCCESS = "success"


class Rejection(enum.Enum):
    """Why a request was refused, with the HTTP status it gets."""

    BAD_SIGNATURE = (403, "invalid signature")
    STALE_TIMESTAMP = (403, "timestamp outside the allowed window")
    BODY_TOO_LARGE = (413, "body too large")
    MALFORMED_XML = (400, "malformed XML")
    BAD_ENVELOPE = (400, "cannot decrypt message")
    NOT_CONFIGURED = (400, "encrypted mode is not configured")
    MISSING_FIELDS = (400, "missing ToUserName/FromUserName/MsgType")
    BAD_FIELDS = (400, "invalid field value")
    BAD_ENCODING = (400, "body must be UTF-8")
    PLAINTEXT_REFUSED = (403, "unencrypted message refused in safe mode")
    ENCRYPTED_REFUSED = (400, "encrypted message refused in plaintext mode")
    REPLAYED = (403, "timestamp and nonce already used")

    @property
    def status(self) -> int:
        return self.value[0]

    @property
    def detail(self) -> str:
        return self.value[1]


@dataclass(frozen=True)
class WebhookResponse:
    status: int
    body: str
    content_type: str = "text/plain; charset=utf-8"


def _rejected(reason: Rejection) -> WebhookResponse:
    logger.info("wechat webhook rejected: %s", reason.name)
    metrics.webhook_rejected(reason)
    return WebhookResponse(status=reason.status, body=reason.detail)


def _check_signature_and_time(params: dict[str, str]) -> Rejection | None:
    timestamp = params.get("timestamp", "")
    if not signature_matches(
        params.get("signature", ""), settings.WECHAT_TOKEN, timestamp, params.get("nonce", "")
    ):
        return Rejection.BAD_SIGNATURE
    try:
        skew = abs(time.time() - int(timestamp))
    except ValueError:
        return Rejection.STALE_TIMESTAMP
    if skew > settings.WECHAT_TIMESTAMP_TOLERANCE_SECONDS:
        return Rejection.STALE_TIMESTAMP
    return None


_NONCE_PREFIX = "wechat:nonce:"


def _replay_guard(params: dict[str, str], body: bytes) -> ReplayGuard:
    """The guard of this signed request: its (timestamp, nonce) may carry this body only.

    In plaintext mode the signature covers token, timestamp and nonce only (WeChat's
    protocol), so a captured query would sign any body for the timestamp window. The
    pair is remembered for that window in the shared cache, in the receiver's dedup
    claim (one round trip for both); a true WeChat retry repeats the same body and stays
    accepted. With the cache unavailable the check is skipped (the signature and the
    window still hold).
    """
    key = (
        _NONCE_PREFIX
        + hashlib.sha256(
            f"{params.get('timestamp', '')}:{params.get('nonce', '')}".encode()
        ).hexdigest()
    )
    return ReplayGuard(
        key=key,
        body_digest=hashlib.sha256(body).hexdigest(),
        seconds=2 * settings.WECHAT_TIMESTAMP_TOLERANCE_SECONDS + 1,
    )


# WeChat's own shapes: openids are 28 characters today; 64 is the column's size.
_ID = re.compile(r"[A-Za-z0-9_\-@.]{1,64}")
_DIGITS = re.compile(r"[0-9]{1,20}")
_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*\bencoding\s*=\s*["']([^"']+)["']""")


def _utf8_text(body: bytes) -> str | None:
    """The body as text when it is UTF-8 and declares nothing else; else None."""
    declared = _DECLARED_ENCODING.match(body[:200])
    if declared and declared.group(1).decode("ascii", "replace").lower() not in (
        "utf-8",
        "utf8",
    ):
        return None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return None if "\x00" in text else text


def _fields_valid(fields: dict[str, str]) -> bool:
    """The values the store keys on have WeChat's shapes (no NULs, bounded identifiers)."""
    if any("\x00" in value for value in fields.values()):
        return False
    if not _ID.fullmatch(fields["FromUserName"]) or not _ID.fullmatch(fields["ToUserName"]):
        return False
    if len(fields["MsgType"]) > 16:
        return False
    return all(
        not fields.get(name) or _DIGITS.fullmatch(fields[name])
        for name in ("MsgId", "MsgID", "CreateTime")
    )


def webhook_verify(*, params: dict[str, str]) -> WebhookResponse:
    """Answer WeChat's URL verification (GET with echostr)."""
    if not settings.WECHAT_TOKEN:
        return _rejected(Rejection.BAD_SIGNATURE)
    rejection = _check_signature_and_time(params)
    if rejection:
        return _rejected(rejection)
    return WebhookResponse(status=200, body=params.get("echostr", ""))


def _cipher() -> MessageCipher | None:
    if not settings.WECHAT_ENCODING_AES_KEY:
        return None
    return MessageCipher(
        encoding_aes_key=settings.WECHAT_ENCODING_AES_KEY, app_id=settings.WECHAT_APP_ID
    )


def _wechat_time(fields: dict[str, str]) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(fields.get("CreateTime", "")), tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None


def inbound_message(
    *,
    fields: dict[str, str],
    raw: str,
    delivery_id: str = "",
    replay_guard: ReplayGuard | None = None,
) -> InboundMessage:
    """The channel-neutral message of one WeChat delivery (its XML's fields)."""
    return InboundMessage(
        openid=fields["FromUserName"],
        msg_type=fields.get("MsgType", "").lower(),
        dedup_key=dedup_key_for(fields, delivery_id=delivery_id),
        text=fields.get("Content", "") or fields.get("Title", ""),
        media_id=fields.get("MediaId", ""),
        pic_url=fields.get("PicUrl", ""),
        recognition=fields.get("Recognition", ""),
        event=fields.get("Event", ""),
        event_key=fields.get("EventKey", ""),
        msg_id=fields.get("MsgId") or fields.get("MsgID") or "",
        raw=raw,
        sent_at=_wechat_time(fields),
        fields=fields,
        replay_guard=replay_guard,
    )


@functools.cache
def _receiver_named(path: str):
    return import_string(path)


def _receiver():
    """The receiver named in settings (`bot.dialog.receive.message_receive`): the channel
    hands it each message and knows nothing of what answers it."""
    return _receiver_named(settings.WECHAT_MESSAGE_RECEIVER)


@metrics.webhook_observed
def webhook_receive(*, params: dict[str, str], body: bytes) -> WebhookResponse:
    """Handle one POSTed message or event and return what WeChat should get back."""
    if len(body) > settings.WECHAT_MAX_BODY_BYTES:
        return _rejected(Rejection.BODY_TOO_LARGE)
    if not settings.WECHAT_TOKEN:
        return _rejected(Rejection.BAD_SIGNATURE)
    rejection = _check_signature_and_time(params)
    if rejection:
        return _rejected(rejection)
    raw_xml = _utf8_text(body)
    if raw_xml is None:
        return _rejected(Rejection.BAD_ENCODING)
    try:
        envelope = xml_to_fields(body)
    except MalformedXml:
        return _rejected(Rejection.MALFORMED_XML)

    encrypted = params.get("encrypt_type", "raw").lower() == "aes"
    mode = settings.WECHAT_ENCRYPTION_MODE
    if mode == "safe" and not encrypted:
        return _rejected(Rejection.PLAINTEXT_REFUSED)
    if mode == "plaintext" and encrypted:
        return _rejected(Rejection.ENCRYPTED_REFUSED)
    cipher = _cipher() if encrypted else None
    if encrypted:
        if cipher is None:
            return _rejected(Rejection.NOT_CONFIGURED)
        encrypt = envelope.get("Encrypt", "")
        if not encrypt or not signature_matches(
            params.get("msg_signature", ""),
            settings.WECHAT_TOKEN,
            params.get("timestamp", ""),
            params.get("nonce", ""),
            encrypt,
        ):
            return _rejected(Rejection.BAD_SIGNATURE)
        try:
            raw_xml = cipher.decrypt(encrypt)
            fields = xml_to_fields(raw_xml.encode())
        except CryptoError:
            return _rejected(Rejection.BAD_ENVELOPE)
        except MalformedXml:
            return _rejected(Rejection.MALFORMED_XML)
        if "\x00" in raw_xml:
            return _rejected(Rejection.BAD_ENCODING)
    else:
        fields = envelope

    if not all(fields.get(name) for name in ("ToUserName", "FromUserName", "MsgType")):
        return _rejected(Rejection.MISSING_FIELDS)
    if not _fields_valid(fields):
        return _rejected(Rejection.BAD_FIELDS)
    guard = _replay_guard(params, body)
    delivery_id = ":".join(
        (params.get("timestamp", ""), params.get("nonce", ""), guard.body_digest)
    )
    inbound = inbound_message(
        fields=fields, raw=raw_xml, delivery_id=delivery_id, replay_guard=guard
    )
    try:
        # The receiver claims the delivery with its guard (bot.channels.wechat.dedup).
        reply_text = _receiver()(inbound=inbound)
    except Replayed:
        return _rejected(Rejection.REPLAYED)
    if not reply_text:
        return WebhookResponse(status=200, body=SUCCESS)
    reply_xml = TextReply(
        source=fields["ToUserName"], target=fields["FromUserName"], content=reply_text
    ).render()
    if cipher is not None:
        reply_xml = cipher.envelope(
            reply_xml,
            token=settings.WECHAT_TOKEN,
            timestamp=str(int(time.time())),
            nonce=secrets.token_hex(8),
        )
    return WebhookResponse(
        status=200, body=reply_xml, content_type="application/xml; charset=utf-8"
    )
