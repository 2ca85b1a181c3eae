"""Build the signed (optionally encrypted) requests WeChat would send, and open replies.

Used by the simulator page, the tests and the benchmarks, so all of them go
through `/wechat/` exactly the way WeChat's servers do.
"""

import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlencode
from xml.sax.saxutils import escape

from django.conf import settings

from bot.channels.wechat.crypto import MessageCipher, signature_of
from bot.channels.wechat.parsing import xml_to_fields

_msg_ids = iter(range(int(time.time() * 1000) * 1000, 2**63))


@dataclass(frozen=True)
class Delivery:
    query: dict[str, str]
    body: bytes

    @property
    def path(self) -> str:
        return "/wechat/?" + urlencode(self.query)


def next_msg_id() -> str:
    return str(next(_msg_ids))


def fields_to_xml(fields: dict[str, str]) -> str:
    parts = []
    for key, value in fields.items():
        if key in ("CreateTime", "MsgId", "MsgID") or key.startswith(("Location_", "Scale")):
            parts.append(f"<{key}>{escape(str(value))}</{key}>")
        else:
            parts.append(
                f"<{key}><![CDATA[{str(value).replace(']]>', ']]]]><![CDATA[>')}]]></{key}>"
            )
    return "<xml>" + "".join(parts) + "</xml>"


def _cipher() -> MessageCipher:
    return MessageCipher(
        encoding_aes_key=settings.WECHAT_ENCODING_AES_KEY, app_id=settings.WECHAT_APP_ID
    )


def build_delivery(
    fields: dict[str, str],
    *,
    mode: str = "plain",
    timestamp: int | None = None,
    token: str | None = None,
) -> Delivery:
    """Sign (and in `safe`/`compatible` mode encrypt) one message the way WeChat does."""
    token = settings.WECHAT_TOKEN if token is None else token
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = secrets.token_hex(5)
    query = {
        "signature": signature_of(token, ts, nonce),
        "timestamp": ts,
        "nonce": nonce,
        "openid": fields.get("FromUserName", ""),
    }
    plain = fields_to_xml(fields)
    if mode == "plain":
        return Delivery(query=query, body=plain.encode())
    encrypted = _cipher().encrypt(plain)
    query["encrypt_type"] = "aes"
    query["msg_signature"] = signature_of(token, ts, nonce, encrypted)
    outer = {"ToUserName": fields.get("ToUserName", "")}
    if mode == "compatible":
        outer = dict(fields)
    outer["Encrypt"] = encrypted
    return Delivery(query=query, body=fields_to_xml(outer).encode())


def message_fields(
    *,
    openid: str,
    msg_type: str,
    to_user: str = "gh_fapiao_desk",
    **extra: str,
) -> dict[str, str]:
    """The fields of one inbound message; text/voice/image get a fresh MsgId."""
    fields = {
        "ToUserName": to_user,
        "FromUserName": openid,
        "CreateTime": str(int(time.time())),
        "MsgType": msg_type,
    }
    fields.update({k: v for k, v in extra.items() if v is not None})
    if msg_type != "event" and "MsgId" not in fields:
        fields["MsgId"] = next_msg_id()
    return fields


def open_reply(body: str) -> dict[str, str] | None:
    """Read a webhook reply (decrypting it if needed); None for `success` or empty."""
    body = body.strip()
    if not body or body == "success":
        return None
    fields = xml_to_fields(body.encode())
    if "Encrypt" in fields:
        fields = xml_to_fields(_cipher().decrypt(fields["Encrypt"]).encode())
    return fields
