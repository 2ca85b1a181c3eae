"""The one WeChat API client of the project, in wechatpy's shape: one module per API area.

    client = wechat_client()
    client.message.send_text(openid, "您的工单已受理")
    client.message.send_template(openid, template_id, data, client_msg_id="notice-42")
    client.message.send_subscribe(openid, template_id, data, page=url)
    client.message.send_mass_text(text, tag_id=None, client_msg_id="broadcast:7")
    client.media.download(media_id, max_bytes=..., timeout=...)
    client.menu.create(menu)

Every call, the token fetch included, goes to WECHAT_API_BASE_URL over one urllib3
pool per process (why urllib3 and not wechatpy's requests: `base.py`). Every
failure is a `WeChatApiError(errcode, errmsg)`; `errcode` is None for network and
HTTP failures, and `transient` says whether a retry later may succeed. A rejected
token (40001 / 40014 / 42001) is replaced once and the call retried.

wechatpy's `WeChatClient` is not the base class: its API modules post through
requests, so keeping it would mean two HTTP stacks again (or overriding its
private request method). wechatpy stays where it is good: the safe-mode cipher
(`crypto.py`) and passive replies (`inbound.py`).
"""

from django.conf import settings

from bot.channels.wechat.client.base import BaseWeChatAPI, BaseWeChatClient
from bot.channels.wechat.client.errors import (
    TOKEN_ERRORS,
    TRANSIENT_ERRORS,
    Errcode,
    MediaTooLarge,
    WeChatApiError,
)
from bot.channels.wechat.client.media import WeChatMedia
from bot.channels.wechat.client.menu import WeChatMenu
from bot.channels.wechat.client.message import WeChatMessage

__all__ = [
    "TOKEN_ERRORS",
    "TRANSIENT_ERRORS",
    "BaseWeChatAPI",
    "Errcode",
    "MediaTooLarge",
    "WeChatApiError",
    "WeChatClient",
    "wechat_client",
    "wechat_configured",
]


class WeChatClient(BaseWeChatClient):
    """The API of one official account: `message`, `media`, `menu`."""

    def __init__(self, *, appid: str, secret: str, base_url: str, timeout: float) -> None:
        super().__init__(appid=appid, secret=secret, base_url=base_url, timeout=timeout)
        self.message = WeChatMessage(self)
        self.media = WeChatMedia(self)
        self.menu = WeChatMenu(self)


def wechat_client() -> WeChatClient:
    """Build the client from settings (cheap: the token is cached, the pool per process)."""
    return WeChatClient(
        appid=settings.WECHAT_APP_ID,
        secret=settings.WECHAT_APP_SECRET,
        base_url=settings.WECHAT_API_BASE_URL,
        timeout=settings.WECHAT_API_TIMEOUT,
    )


def wechat_configured() -> bool:
    """False in embedded mode: pushes are recorded for the simulator, not sent."""
    return bool(settings.WECHAT_APP_SECRET)
