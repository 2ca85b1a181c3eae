"""Which WeChat channel carries a notice, and what each channel's message says.

Customer-service messages reach a follower only within 48 hours of their last
interaction, at most 5 of them; after that only template messages or subscribe
messages (订阅通知, to followers who accepted that subscribe template) do.
Template sends carry `client_msg_id` (WeChat drops a repeat of the same openid +
id for 10 minutes), which is what makes a resend after a lost worker safe on
that channel. The calls themselves are the WeChat client's
(`bot.channels.wechat.client`): no HTTP here.
"""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from bot.channels.wechat.client import WeChatClient
from bot.notices.models import Notice, NoticeTemplate

CS_WINDOW = timedelta(hours=48)
REFUSED_TEXT = "follower has not accepted this subscribe message (refused or unsubscribed)"


@dataclass(frozen=True)
class TemplateChoice:
    template_id: str
    field_mapping: dict[str, str]
    message_type: str = NoticeTemplate.MessageType.TEMPLATE
    page: str = ""

    @property
    def is_subscribe(self) -> bool:
        return self.message_type == NoticeTemplate.MessageType.SUBSCRIBE


def within_service_window(last_interaction_at: datetime | None, *, now: datetime) -> bool:
    """True while a customer-service message may still reach the follower."""
    return last_interaction_at is not None and now - last_interaction_at < CS_WINDOW


def templates_by_kind() -> dict[str, TemplateChoice]:
    """The active template per notice kind, plus the project default under key ''."""
    choices = {
        t.kind: TemplateChoice(t.template_id, t.field_mapping or {}, t.message_type, t.page)
        for t in NoticeTemplate.objects.filter(active=True)
    }
    default = settings.NOTICES_DEFAULT_TEMPLATE_ID or settings.WECHAT_DEFAULT_TEMPLATE_ID
    if default:
        choices[""] = TemplateChoice(default, {"content": "{text}"})
    return choices


def template_for(kind: str, templates: dict[str, TemplateChoice]) -> TemplateChoice | None:
    return templates.get(kind) or templates.get("")


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


def _context(notice: Notice, now: datetime | None) -> _Blank:
    context = _Blank(
        text=notice.text,
        title=notice.get_kind_display(),
        time=timezone.localtime(now).strftime("%Y-%m-%d %H:%M"),
        link=notice.url,
    )
    context.update({k: str(v) for k, v in (notice.template_data or {}).items()})
    return context


def template_data(
    notice: Notice, choice: TemplateChoice, *, now: datetime | None = None
) -> dict[str, dict[str, str]]:
    """WeChat's template `data`: each configured field filled from the notice."""
    context = _context(notice, now)
    return {
        field: {"value": str(pattern).format_map(context)[:200]}
        for field, pattern in choice.field_mapping.items()
    }


# WeChat's limits on subscribe-message values, by the field's type (the key without its
# number: thing1 -> thing). A longer value is refused with 47003, so values are cut.
SUBSCRIBE_LIMITS = {
    "thing": 20,
    "number": 32,
    "letter": 32,
    "symbol": 5,
    "character_string": 32,
    "phone_number": 17,
    "car_number": 8,
    "phrase": 5,
    "name": 10,  # 10 Chinese characters, or 20 letters
    "amount": 12,  # a currency sign and 10 digits with decimals
    "time": 40,
    "date": 40,
}
_ELLIPSIS_TYPES = {"thing"}  # free text: show that it was cut
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")  # WeChat refuses line breaks and control characters
_FIELD_TYPE = re.compile(r"^([a-z_]+?)(\d+)?$")


def subscribe_value(field: str, value: str) -> str:
    """A value cut to WeChat's limit for the field's type, on character boundaries."""
    value = _CONTROL.sub(" ", value).strip()
    match = _FIELD_TYPE.match(field)
    kind = match.group(1) if match else field
    limit = SUBSCRIBE_LIMITS.get(kind, 20)
    if kind == "name" and value.isascii():
        limit = 20
    if len(value) <= limit:
        return value
    if kind in _ELLIPSIS_TYPES:
        return value[: limit - 1] + "…"
    return value[:limit]


def subscribe_data(
    notice: Notice, choice: TemplateChoice, *, now: datetime | None = None
) -> dict[str, dict[str, str]]:
    """The subscribe message's `data`: each configured field filled and cut to its limit."""
    context = _context(notice, now)
    return {
        field: {"value": subscribe_value(field, str(pattern).format_map(context))}
        for field, pattern in choice.field_mapping.items()
    }


def client_msg_id(notice: Notice) -> str:
    return f"notice-{notice.pk}"


def send_template(
    client: WeChatClient, *, openid: str, notice: Notice, choice: TemplateChoice, data: dict
) -> str:
    """Send a template message (`data` from template_data); returns WeChat's msgid."""
    result = client.message.send_template(
        openid,
        choice.template_id,
        data,
        url=notice.url or None,
        client_msg_id=client_msg_id(notice),
    )
    return str(result.get("msgid", "") or "")


def send_subscribe(
    client: WeChatClient, *, openid: str, notice: Notice, choice: TemplateChoice, data: dict
) -> str:
    """Send a subscribe message (订阅通知, `data` from subscribe_data).

    WeChat's bizsend has no client_msg_id and answers no msgid: a repeat is a second
    message, so recovery never resends a notice that may have gone out this way.
    """
    page = notice.url or choice.page
    result = client.message.send_subscribe(openid, choice.template_id, data, page=page or None)
    return str(result.get("msgid", "") or "")


def send_text(client: WeChatClient, *, openid: str, notice: Notice) -> str:
    """Send a customer-service text message (the link appended)."""
    text = notice.text if not notice.url else f"{notice.text}\n{notice.url}"
    result = client.message.send_text(openid, text)
    return str(result.get("msgid", "") or "")


def mass_send_by_tag(client: WeChatClient, *, tag_id: int | None, text: str, key: str) -> str:
    """群发 a text to a WeChat tag (None: everyone); returns the mass msg_id."""
    result = client.message.send_mass_text(text, tag_id=tag_id, client_msg_id=key)
    return str(result.get("msg_id", "") or "")
