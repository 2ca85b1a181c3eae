"""The official account's custom menu."""

from bot.channels.wechat.client.base import BaseWeChatAPI


class WeChatMenu(BaseWeChatAPI):
    def create(self, menu_data: dict) -> dict:
        """Replace the custom menu (`{"button": [...]}`, as in menu.json)."""
        return self._post("/cgi-bin/menu/create", menu_data)
