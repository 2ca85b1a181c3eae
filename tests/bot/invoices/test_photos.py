"""Fetching an image message's bytes: WeChat media API, PicUrl, the simulator's uploads."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot.invoices.photos import PhotoError, PhotoFailure, photo_fetch

JPEG = b"\xff\xd8\xff\xe0" + b"jpeg-bytes" * 100


class _PicServer:
    """A stand-in for WeChat's image host (mmbiz.qpic.cn) on 127.0.0.1."""

    def __init__(self, body: bytes, *, declare_length: bool = True, status: int = 200):
        outer = self
        self.hits = 0

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                outer.hits += 1
                self.send_response(status)
                self.send_header("Content-Type", "image/jpeg")
                if declare_length:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/mmbiz_jpg/abc/0"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def pic_hosts(settings):
    """Allow a _PicServer's exact authority (host:port), the way an operator would."""

    def allow(server: "_PicServer") -> None:
        settings.INVOICE_PHOTO_URL_HOSTS = [f"127.0.0.1:{server.server.server_address[1]}"]

    return allow


@pytest.mark.django_db
def test_media_id_is_fetched_through_the_wechat_api(fake_wechat):
    fake_wechat.put_media("M1", JPEG)
    assert photo_fetch(media_id="M1", pic_url="") == JPEG
    (call,) = fake_wechat.calls("/cgi-bin/media/get")
    assert call.query["media_id"] == "M1" and call.query["access_token"].startswith("TOKEN-")


@pytest.mark.django_db
def test_a_revoked_token_is_refreshed_once_and_the_download_retried(fake_wechat):
    fake_wechat.put_media("M1", JPEG)
    photo_fetch(media_id="M1", pic_url="")
    fake_wechat.revoke_tokens()
    assert photo_fetch(media_id="M1", pic_url="") == JPEG
    tokens = [c.query["access_token"] for c in fake_wechat.calls("/cgi-bin/media/get")]
    assert len(tokens) == 3 and tokens[1] == tokens[0] != tokens[2]
    assert len(fake_wechat.calls("/cgi-bin/stable_token")) == 2


@pytest.mark.django_db
def test_unknown_media_without_pic_url_fails_politely(fake_wechat):
    with pytest.raises(PhotoError) as caught:
        photo_fetch(media_id="GONE", pic_url="")
    assert caught.value.reason is PhotoFailure.FETCH_FAILED


@pytest.mark.django_db
def test_expired_media_falls_back_to_the_pic_url(fake_wechat, pic_hosts):
    with _PicServer(JPEG) as pic:
        pic_hosts(pic)
        assert photo_fetch(media_id="GONE", pic_url=pic.url) == JPEG
        assert pic.hits == 1


@pytest.mark.django_db
def test_media_over_the_cap_is_too_large(fake_wechat, settings):
    settings.INVOICE_PHOTO_MAX_BYTES = 1000
    fake_wechat.put_media("BIG", JPEG * 2)
    with pytest.raises(PhotoError) as caught:
        photo_fetch(media_id="BIG", pic_url="")
    assert caught.value.reason is PhotoFailure.TOO_LARGE


@pytest.mark.parametrize("declare_length", [True, False])
def test_pic_url_over_the_cap_is_too_large_even_without_a_length(
    settings, pic_hosts, declare_length
):
    settings.INVOICE_PHOTO_MAX_BYTES = 5000
    with _PicServer(b"x" * 50_000, declare_length=declare_length) as pic:
        pic_hosts(pic)
        with pytest.raises(PhotoError) as caught:
            photo_fetch(media_id="", pic_url=pic.url)
    assert caught.value.reason is PhotoFailure.TOO_LARGE


def test_pic_url_http_error_is_a_fetch_failure(pic_hosts):
    with _PicServer(b"", status=404) as pic:
        pic_hosts(pic)
        with pytest.raises(PhotoError) as caught:
            photo_fetch(media_id="", pic_url=pic.url)
    assert caught.value.reason is PhotoFailure.FETCH_FAILED


def test_pic_url_on_another_host_is_never_requested(settings):
    settings.INVOICE_PHOTO_URL_HOSTS = ["mmbiz.qpic.cn"]
    with _PicServer(JPEG) as pic:
        with pytest.raises(PhotoError) as caught:
            photo_fetch(media_id="", pic_url=pic.url)
        assert pic.hits == 0
    assert caught.value.reason is PhotoFailure.NO_SOURCE


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "http://mmbiz.qpic.cn.evil.example/a", "ftp://mmbiz.qpic.cn/a"]
)
def test_pic_urls_that_are_not_wechat_images_are_refused(url):
    with pytest.raises(PhotoError) as caught:
        photo_fetch(media_id="", pic_url=url)
    assert caught.value.reason is PhotoFailure.NO_SOURCE


@pytest.mark.parametrize(
    "template",
    [
        "http://127.0.0.1:{port}\\@mmbiz.qpic.cn/x",  # the audit's URL
        "http://127.0.0.1:{port}@mmbiz.qpic.cn/x",
        "http://user@mmbiz.qpic.cn/x",
        "http://mmbiz.qpic.cn:{port}/x",
        "http://mmbiz.qpic.cn\\@127.0.0.1:{port}/x",
        "http://mmbiz.qpic.cn%2F@127.0.0.1:{port}/x",
        "http://mmbiz.qpic.cn./x",
        "http://127.0.0.1:{port}#@mmbiz.qpic.cn/x",
        "http://127.0.0.1:{port}?@mmbiz.qpic.cn/x",
        "http:// mmbiz.qpic.cn/x",
        "http://mmbiz.qpic.cn\t/x",
        "http://MMBIZ.qpic.cn.127.0.0.1.nip.io/x",
    ],
)
def test_pic_url_tricks_are_refused_with_one_answer_and_never_fetched(settings, template):
    settings.INVOICE_PHOTO_URL_HOSTS = ["mmbiz.qpic.cn"]
    with _PicServer(JPEG) as pic:
        url = template.format(port=pic.server.server_address[1])
        with pytest.raises(PhotoError) as caught:
            photo_fetch(media_id="", pic_url=url)
        assert pic.hits == 0
    with pytest.raises(PhotoError) as no_url:
        photo_fetch(media_id="", pic_url="")
    # The same answer as no URL at all: the outcome tells a sender nothing.
    assert str(caught.value) == str(no_url.value)


def test_a_trickling_pic_host_is_cut_at_the_total_deadline(settings, pic_hosts):
    """One byte every 0.3 s never trips a per-read timeout; the total deadline does."""
    import socket
    import time

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    stop = threading.Event()

    def trickle():
        conn, _ = listener.accept()
        conn.recv(4096)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        while not stop.is_set():
            try:
                conn.sendall(b"x")
            except OSError:
                break
            time.sleep(0.3)
        conn.close()

    threading.Thread(target=trickle, daemon=True).start()
    settings.INVOICE_PHOTO_URL_HOSTS = [f"127.0.0.1:{port}"]
    settings.INVOICE_PHOTO_TIMEOUT = 1.0
    started = time.monotonic()
    try:
        with pytest.raises(PhotoError) as caught:
            photo_fetch(media_id="", pic_url=f"http://127.0.0.1:{port}/x")
    finally:
        stop.set()
        listener.close()
    assert caught.value.reason is PhotoFailure.FETCH_FAILED
    assert time.monotonic() - started < 2.0


def test_simulator_upload_is_read_in_embedded_mode(settings, tmp_path):
    settings.WECHAT_APP_SECRET = ""
    settings.MEDIA_ROOT = str(tmp_path)
    (tmp_path / "simulator").mkdir()
    (tmp_path / "simulator" / "sim-0123abcd").write_bytes(JPEG)
    assert photo_fetch(media_id="sim-0123abcd", pic_url="") == JPEG


@pytest.mark.parametrize("media_id", ["../../etc/passwd", "sim-x/../../secret", "", "a" * 200])
def test_media_ids_that_could_leave_the_media_folder_are_ignored(settings, tmp_path, media_id):
    settings.WECHAT_APP_SECRET = ""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    (tmp_path / "secret").write_bytes(b"secret")
    with pytest.raises(PhotoError) as caught:
        photo_fetch(media_id=media_id, pic_url="")
    assert caught.value.reason is PhotoFailure.NO_SOURCE


def test_simulator_upload_over_the_cap_is_too_large(settings, tmp_path):
    settings.WECHAT_APP_SECRET = ""
    settings.MEDIA_ROOT = str(tmp_path)
    settings.INVOICE_PHOTO_MAX_BYTES = 10
    (tmp_path / "simulator").mkdir()
    (tmp_path / "simulator" / "sim-big").write_bytes(JPEG)
    with pytest.raises(PhotoError) as caught:
        photo_fetch(media_id="sim-big", pic_url="")
    assert caught.value.reason is PhotoFailure.TOO_LARGE
