"""Every WeChat API call has a total deadline, not only a per-read timeout (audit item 6)."""

import socket
import threading
import time

import pytest

from bot.channels.wechat.client.base import BaseWeChatClient
from bot.channels.wechat.client.errors import WeChatApiError


class _Trickle:
    """A server that answers one byte every 0.3 s: no single read ever times out."""

    def __init__(self, head: bytes):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        self.port = self.listener.getsockname()[1]
        self.stop = threading.Event()
        self.head = head
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        conn.recv(65536)
        conn.sendall(self.head)
        while not self.stop.is_set():
            try:
                conn.sendall(b"{")
            except OSError:
                break
            time.sleep(0.3)
        conn.close()

    def close(self):
        self.stop.set()
        self.listener.close()


@pytest.mark.parametrize("raw", [False, True], ids=["json", "download"])
def test_a_trickling_answer_is_cut_at_the_total_deadline(raw):
    server = _Trickle(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
    client = BaseWeChatClient(
        appid="wx", secret="s", base_url=f"http://127.0.0.1:{server.port}", timeout=1.0
    )
    started = time.monotonic()
    try:
        with pytest.raises(WeChatApiError):
            client._send("GET", "/cgi-bin/media/get", query={}, raw=raw)
    finally:
        server.close()
    assert time.monotonic() - started < 1.8
