"""Messages to followers: customer-service, template, subscribe (订阅通知) and mass sends."""

from bot.channels.wechat.client.base import BaseWeChatAPI


class WeChatMessage(BaseWeChatAPI):
    def send_text(self, user_id: str, content: str) -> dict:
        """Send a customer-service text message.

        Only within 48 hours of the follower's last message (45015 otherwise), and at
        most 5 of them in that time (45047 otherwise).
        """
        body = {"touser": user_id, "msgtype": "text", "text": {"content": content}}
        return self._post("/cgi-bin/message/custom/send", body)

    def send_template(
        self,
        user_id: str,
        template_id: str,
        data: dict,
        *,
        url: str | None = None,
        client_msg_id: str | None = None,
    ) -> dict:
        """Send a template message; WeChat drops a repeat of (openid, client_msg_id) for 10 minutes.

        Answers `msgid`, which the TEMPLATESENDJOBFINISH event reports on.
        """
        body = {"touser": user_id, "template_id": template_id, "data": data}
        if url:
            body["url"] = url
        if client_msg_id:
            body["client_msg_id"] = client_msg_id
        return self._post("/cgi-bin/message/template/send", body)

    def send_subscribe(
        self, user_id: str, template_id: str, data: dict, *, page: str | None = None
    ) -> dict:
        """Send a subscribe message (bizsend): no client_msg_id, no msgid; 43101 if not accepted."""
        body = {"touser": user_id, "template_id": template_id, "data": data}
        if page:
            body["page"] = page
        return self._post("/cgi-bin/message/subscribe/bizsend", body)

    def send_mass_text(
        self, content: str, *, tag_id: int | None, client_msg_id: str | None = None
    ) -> dict:
        """Mass-send (群发) a text to a WeChat tag's followers (None: everyone).

        Answers `msg_id`; WeChat reports the outcome later in a MASSSENDJOBFINISH event.
        """
        body = {
            "filter": {"is_to_all": tag_id is None, "tag_id": tag_id},
            "text": {"content": content},
            "msgtype": "text",
            "send_ignore_reprint": 0,
        }
        if client_msg_id:
            body["clientmsgid"] = client_msg_id[:64]
        return self._post("/cgi-bin/message/mass/sendall", body)
