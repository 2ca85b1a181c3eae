"""The one WeChat API client of the project (wechatpy), pointed at WECHAT_API_BASE_URL.

The access token lives in the shared cache so every web and worker process
uses the same one. It is fetched from WeChat's `stable_token` endpoint under a
cache lock: one process fetches, the others wait and read, and nobody's fetch
invalidates a token another process is still using.
"""

import enum
import logging
import time

import requests
from django.conf import settings
from django.core.cache import cache
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session import SessionStorage

logger = logging.getLogger(__name__)

_TOKEN_EARLY_EXPIRY_SECONDS = 300
_LOCK_SECONDS = 15


class Errcode(enum.IntEnum):
    """The WeChat error codes the project reacts to."""

    INVALID_CREDENTIAL = 40001
    INVALID_ACCESS_TOKEN = 40014
    EXPIRED_ACCESS_TOKEN = 42001
    USER_UNSUBSCRIBED = 43004
    OUT_OF_API_FREQ_LIMIT = 45009
    OUTSIDE_REPLY_WINDOW = 45015
    SYSTEM_BUSY = -1


TOKEN_ERRORS = {
    Errcode.INVALID_CREDENTIAL,
    Errcode.INVALID_ACCESS_TOKEN,
    Errcode.EXPIRED_ACCESS_TOKEN,
}
TRANSIENT_ERRORS = {Errcode.OUT_OF_API_FREQ_LIMIT, Errcode.SYSTEM_BUSY}


class WeChatApiError(Exception):
    """A call to WeChat failed; errcode is None for network and HTTP failures."""

    def __init__(self, errcode: int | None, errmsg: str) -> None:
        super().__init__(f"{errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg

    @property
    def transient(self) -> bool:
        return self.errcode is None or self.errcode in TRANSIENT_ERRORS


class CacheTokenStorage(SessionStorage):
    """wechatpy session storage on Django's shared cache."""

    def get(self, key, default=None):
        return cache.get(f"wechat:session:{key}", default)

    def set(self, key, value, ttl=None):
        cache.set(f"wechat:session:{key}", value, timeout=ttl)

    def delete(self, key):
        cache.delete(f"wechat:session:{key}")


class SupportWeChatClient(WeChatClient):
    """wechatpy's client with a configurable base URL and a shared, locked token."""

    def __init__(self, *, appid: str, secret: str, base_url: str, timeout: float) -> None:
        super().__init__(
            appid, secret, session=CacheTokenStorage(), timeout=timeout, auto_retry=False
        )
        self.base_url = base_url.rstrip("/")
        self.API_BASE_URL = f"{self.base_url}/cgi-bin/"

    @property
    def _lock_key(self) -> str:
        return f"wechat:token-lock:{self.appid}"

    def fetch_access_token(self) -> dict:
        """Fetch a token once across all processes; the others wait for it."""
        deadline = time.monotonic() + _LOCK_SECONDS
        while not cache.add(self._lock_key, "1", timeout=_LOCK_SECONDS):
            token = self.session.get(self.access_token_key)
            if token:
                return {"access_token": token}
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        try:
            token = self.session.get(self.access_token_key)
            if token:
                return {"access_token": token}
            response = self._http.post(
                f"{self.base_url}/cgi-bin/stable_token",
                json={
                    "grant_type": "client_credential",
                    "appid": self.appid,
                    "secret": self.secret,
                    "force_refresh": False,
                },
                timeout=self.timeout,
            )
            response.raise_for_status()
            result = response.json()
            if result.get("errcode"):
                raise WeChatApiError(int(result["errcode"]), result.get("errmsg", ""))
            expires_in = int(result.get("expires_in", 7200))
            self.session.set(
                self.access_token_key,
                result["access_token"],
                max(expires_in - _TOKEN_EARLY_EXPIRY_SECONDS, 60),
            )
            return result
        finally:
            cache.delete(self._lock_key)

    def forget_token(self, token: str) -> None:
        """Drop the cached token, but only if it is still the one that failed."""
        if self.session.get(self.access_token_key) == token:
            self.session.delete(self.access_token_key)

    def call(self, operation):
        """Run `operation(client)`; refresh the token once on token errors; map failures."""
        for attempt in (1, 2):
            try:
                token = self.access_token
                return operation(self)
            except WeChatClientException as exc:
                errcode = int(exc.errcode) if exc.errcode is not None else None
                if errcode in TOKEN_ERRORS and attempt == 1:
                    logger.info("wechat token rejected (%s); refreshing once", errcode)
                    self.forget_token(token)
                    continue
                raise WeChatApiError(errcode, str(exc.errmsg or "")) from exc
            except requests.RequestException as exc:
                raise WeChatApiError(None, f"network: {exc.__class__.__name__}") from exc
            except ValueError as exc:  # a non-JSON or truncated answer
                raise WeChatApiError(None, f"bad response: {exc}") from exc
        raise AssertionError("unreachable")


def wechat_client() -> SupportWeChatClient:
    """Build the client from settings (cheap: the token is in the shared cache)."""
    return SupportWeChatClient(
        appid=settings.WECHAT_APP_ID,
        secret=settings.WECHAT_APP_SECRET,
        base_url=settings.WECHAT_API_BASE_URL,
        timeout=settings.WECHAT_API_TIMEOUT,
    )


def wechat_configured() -> bool:
    """False in embedded mode: messages are recorded for the simulator, not sent."""
    return bool(settings.WECHAT_APP_SECRET)
