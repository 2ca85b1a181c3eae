"""Fetch the image of an image message: by MediaId through the WeChat API, else by PicUrl.

Every download is capped (size and time) so that a huge or slow image cannot
hold a web process past WeChat's 5-second reply window. In embedded mode the
simulator keeps uploaded images under MEDIA_ROOT, the way WeChat hosts them.
"""

import re
import time
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

import urllib3
from django.conf import settings
from urllib3.util import parse_url

from bot.channels.wechat.client import (
    MediaTooLarge,
    WeChatApiError,
    wechat_client,
    wechat_configured,
)
from bot.invoices.qr import MAX_IMAGE_BYTES
from support.deadline import BodyTooLarge, DeadlineExceeded, call_within, read_within

# Hosts WeChat serves PicUrl from; anything else is not fetched (no requests to arbitrary hosts).
DEFAULT_PIC_HOSTS = ("mmbiz.qpic.cn", "mmbiz.qlogo.cn")
_MEDIA_ID = re.compile(r"^[A-Za-z0-9_\-]{1,128}$")
_LABEL = r"[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?"
_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})+")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_http = urllib3.PoolManager(maxsize=8)


class PhotoFailure(StrEnum):
    """Why no image bytes came back; the dialog words the answer."""

    NO_SOURCE = "no_source"
    FETCH_FAILED = "fetch_failed"
    TOO_LARGE = "too_large"


class PhotoError(Exception):
    def __init__(self, reason: PhotoFailure, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def _setting(name: str, default):
    return getattr(settings, name, default)


def _max_bytes() -> int:
    return int(_setting("INVOICE_PHOTO_MAX_BYTES", MAX_IMAGE_BYTES))


def _timeout() -> float:
    return float(_setting("INVOICE_PHOTO_TIMEOUT", 3.0))


def _from_media(media_id: str) -> bytes:
    try:
        return wechat_client().media.download(media_id, max_bytes=_max_bytes(), timeout=_timeout())
    except MediaTooLarge as exc:
        raise PhotoError(PhotoFailure.TOO_LARGE, exc.detail) from exc
    except WeChatApiError as exc:
        raise PhotoError(PhotoFailure.FETCH_FAILED, str(exc)) from exc


def _from_simulator(media_id: str) -> bytes | None:
    """The simulator's stored upload (embedded mode only), or None when there is none."""
    path = Path(settings.MEDIA_ROOT) / "simulator" / media_id
    try:
        size = path.stat().st_size
    except OSError:
        return None
    if size > _max_bytes():
        raise PhotoError(PhotoFailure.TOO_LARGE, f"{size} bytes")
    return path.read_bytes()


def _pic_url_target(url: str) -> tuple[str, int | None] | None:
    """The (host, port) a PicUrl will be fetched from, or None when it is refused.

    One strict reading: printable ASCII only, no backslash or whitespace, no userinfo;
    and the HTTP stack's own parser (urllib3, which does the connecting) must read the
    same scheme, host and port, so the check and the connection can never disagree
    (`http://127.0.0.1:1\\@mmbiz.qpic.cn/` is refused).
    """
    if len(url) > 1024 or not url.isascii() or not url.isprintable():
        return None
    if any(c in url for c in "\\ "):
        return None
    parts = urlsplit(url)
    if parts.scheme not in _DEFAULT_PORTS or "@" in parts.netloc or "%" in parts.netloc:
        return None
    try:
        port = parts.port
        theirs = parse_url(url)
    except (ValueError, urllib3.exceptions.LocationParseError):
        return None
    host = (parts.hostname or "").lower()
    if not _HOST.fullmatch(host):
        return None
    if (theirs.host or "").lower() != host or theirs.auth or theirs.scheme != parts.scheme:
        return None
    if theirs.port != port:
        return None
    return host, (None if port == _DEFAULT_PORTS[parts.scheme] else port)


def _pic_url_allowed(url: str) -> bool:
    """A WeChat image host on its scheme's port; an entry "host:port" allows exactly that."""
    target = _pic_url_target(url)
    if target is None:
        return False
    host, port = target
    for allowed in _setting("INVOICE_PHOTO_URL_HOSTS", DEFAULT_PIC_HOSTS):
        if ":" in allowed:
            if allowed == f"{host}:{port}":
                return True
        elif port is None and (host == allowed or host.endswith(f".{allowed}")):
            return True
    return False


def _from_pic_url(url: str) -> bytes:
    if not _pic_url_allowed(url):
        raise PhotoError(PhotoFailure.NO_SOURCE, "PicUrl refused")  # one answer for all
    deadline = time.monotonic() + _timeout()
    try:
        response = _http.request(
            "GET",
            url,
            timeout=_timeout(),
            retries=False,
            redirect=False,
            preload_content=False,
        )
    except urllib3.exceptions.HTTPError as exc:
        raise PhotoError(PhotoFailure.FETCH_FAILED, exc.__class__.__name__) from exc
    try:
        if response.status != 200:
            raise PhotoError(PhotoFailure.FETCH_FAILED, f"HTTP {response.status}")
        return read_within(response, max_bytes=_max_bytes(), deadline=deadline)
    except BodyTooLarge as exc:
        raise PhotoError(PhotoFailure.TOO_LARGE, str(exc)) from exc
    except (DeadlineExceeded, urllib3.exceptions.HTTPError) as exc:
        raise PhotoError(PhotoFailure.FETCH_FAILED, exc.__class__.__name__) from exc
    finally:
        response.close()
        response.release_conn()


def photo_fetch(*, media_id: str, pic_url: str) -> bytes:
    """Return the image bytes of an image message, or raise PhotoError with the reason.

    The whole fetch (MediaId, then PicUrl) has one total deadline: a slow or trickling
    server costs the webhook at most INVOICE_PHOTO_TIMEOUT plus a little.
    """
    try:
        return call_within(_timeout() + 0.5, _photo_fetch, media_id=media_id, pic_url=pic_url)
    except DeadlineExceeded as exc:
        raise PhotoError(PhotoFailure.FETCH_FAILED, "deadline") from exc


def _photo_fetch(*, media_id: str, pic_url: str) -> bytes:
    media_id = (media_id or "").strip()
    pic_url = (pic_url or "").strip()
    failure: PhotoError | None = None
    if media_id and _MEDIA_ID.match(media_id):
        if not wechat_configured():
            data = _from_simulator(media_id)
            if data is not None:
                return data
        else:
            try:
                return _from_media(media_id)
            except PhotoError as exc:
                if exc.reason is PhotoFailure.TOO_LARGE:
                    raise
                failure = exc  # MediaId expired or the API failed: PicUrl may still work
    if pic_url and _pic_url_allowed(pic_url):
        return _from_pic_url(pic_url)
    raise failure or PhotoError(PhotoFailure.NO_SOURCE, "no usable MediaId or PicUrl")
