"""Fetch the image of an image message: by MediaId through the WeChat API, else by PicUrl.

Every download is capped (size and time) so that a huge or slow image cannot
hold a web process past WeChat's 5-second reply window. In embedded mode the
simulator keeps uploaded images under MEDIA_ROOT, the way WeChat hosts them.
"""

import re
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

import requests
from django.conf import settings

from bot.channels.wechat.client import (
    MediaTooLarge,
    WeChatApiError,
    wechat_client,
    wechat_configured,
)
from bot.invoices.qr import MAX_IMAGE_BYTES

# Hosts WeChat serves PicUrl from; anything else is not fetched (no requests to arbitrary hosts).
DEFAULT_PIC_HOSTS = ("mmbiz.qpic.cn", "mmbiz.qlogo.cn")
_MEDIA_ID = re.compile(r"^[A-Za-z0-9_\-]{1,128}$")
_CHUNK = 64 * 1024


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


def _read_capped(response: requests.Response, limit: int) -> bytes:
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PhotoError(PhotoFailure.TOO_LARGE, f"declared {declared} bytes")
    body = bytearray()
    for chunk in response.iter_content(_CHUNK):
        body += chunk
        if len(body) > limit:
            raise PhotoError(PhotoFailure.TOO_LARGE, f"over {limit} bytes")
    return bytes(body)


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


def _pic_url_allowed(url: str) -> bool:
    parts = urlsplit(url)
    hosts = _setting("INVOICE_PHOTO_URL_HOSTS", DEFAULT_PIC_HOSTS)
    host = (parts.hostname or "").lower()
    return parts.scheme in ("http", "https") and any(
        host == allowed or host.endswith(f".{allowed}") for allowed in hosts
    )


def _from_pic_url(url: str) -> bytes:
    if not _pic_url_allowed(url):
        raise PhotoError(PhotoFailure.NO_SOURCE, "PicUrl host not allowed")
    try:
        with requests.get(url, stream=True, timeout=_timeout(), allow_redirects=False) as response:
            response.raise_for_status()
            return _read_capped(response, _max_bytes())
    except requests.RequestException as exc:
        raise PhotoError(PhotoFailure.FETCH_FAILED, exc.__class__.__name__) from exc


def photo_fetch(*, media_id: str, pic_url: str) -> bytes:
    """Return the image bytes of an image message, or raise PhotoError with the reason."""
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
