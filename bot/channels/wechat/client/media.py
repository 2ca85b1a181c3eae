"""Media the followers sent (images of invoices): downloaded by media_id."""

from bot.channels.wechat.client.base import BaseWeChatAPI


class WeChatMedia(BaseWeChatAPI):
    def download(self, media_id: str, *, max_bytes: int, timeout: float) -> bytes:
        """Download the media's bytes, streamed within the caller's caps.

        Raises MediaTooLarge past `max_bytes` (declared or read) and WeChatApiError for
        WeChat's errors (40007: expired or unknown media_id) or after `timeout` seconds.
        """
        return self._get(
            "/cgi-bin/media/get",
            query={"media_id": media_id},
            timeout=timeout,
            max_bytes=max_bytes,
            raw=True,
        )
