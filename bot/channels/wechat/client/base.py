"""The client's core: one HTTP pool per process, the shared access token, one request path.

The HTTP stack is urllib3, for every call (the token fetch included), not the
requests stack wechatpy's client is built on. A broadcast is thousands of small
JSON POSTs per worker, and requests + wechatpy cost about three times urllib3's
CPU per call (0.57 vs 0.27 ms measured for bench/broadcast: requests merges
session settings, rebuilds the adapter chain and re-reads the proxy
environment on every call). One stack for all calls keeps one set of timeouts,
one error mapping and one place that talks to WECHAT_API_BASE_URL.

The access token lives in the shared cache so every web and worker process uses
the same one. It is fetched from WeChat's `stable_token` endpoint under a cache
lock: one process fetches, the others wait and read, and nobody's fetch
invalidates a token another process is still using. A rejected token is
forgotten only if it is still the cached one, then fetched again once.
"""

import json
import logging
import os
import threading
import time
import urllib.request
from urllib.parse import urlencode, urlsplit

import urllib3
from django.core.cache import cache

from bot.channels.wechat.client.errors import TOKEN_ERRORS, MediaTooLarge, WeChatApiError
from support.deadline import BodyTooLarge, DeadlineExceeded, read_within

logger = logging.getLogger(__name__)

_TOKEN_EARLY_EXPIRY_SECONDS = 300
_LOCK_SECONDS = 15
# Connections kept per process; the notice sender runs NOTICES_SEND_THREADS (8) calls at
# once per task. More threads than this still work: extra connections are not kept.
_POOL_MAXSIZE = 32

_pools: dict[tuple[int, str], urllib3.PoolManager] = {}
_pools_lock = threading.Lock()


def _proxy_for(base_url: str) -> str | None:
    """The proxy the environment names for this URL (honouring no_proxy), as requests did."""
    parts = urlsplit(base_url)
    if urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    return urllib.request.getproxies().get(parts.scheme)


def _pool(base_url: str) -> urllib3.PoolManager:
    """One connection pool per process and base URL (forked workers each build their own)."""
    key = (os.getpid(), base_url)
    pool = _pools.get(key)
    if pool is None:
        with _pools_lock:
            pool = _pools.get(key)
            if pool is None:
                proxy = _proxy_for(base_url)
                pool = (
                    urllib3.ProxyManager(proxy, maxsize=_POOL_MAXSIZE)
                    if proxy
                    else urllib3.PoolManager(maxsize=_POOL_MAXSIZE)
                )
                _pools[key] = pool
    return pool


def _read_capped(response, *, max_bytes: int | None, deadline: float) -> bytes:
    """The whole body before `deadline`: a trickling server cannot hold the caller."""
    try:
        return read_within(response, max_bytes=max_bytes, deadline=deadline)
    except BodyTooLarge as exc:
        raise MediaTooLarge(str(exc)) from exc
    except DeadlineExceeded as exc:
        raise WeChatApiError(None, "network: answer too slow") from exc


def _answer(status: int, ctype: str, data: bytes, *, raw: bool) -> dict | bytes:
    """WeChat's JSON answer (an errcode raised), or the bytes of a raw download."""
    if status >= 400:
        raise WeChatApiError(None, f"HTTP {status}")
    looks_json = "json" in ctype or "text/plain" in ctype or data[:1] == b"{"
    if raw and not looks_json:
        return data
    try:
        result = json.loads(data)
    except ValueError as exc:  # a truncated or non-JSON answer
        if raw:
            return data
        raise WeChatApiError(None, f"bad response: {exc}") from exc
    if not isinstance(result, dict):
        if raw:
            return data
        raise WeChatApiError(None, "bad response: not a JSON object")
    try:
        errcode = int(result.get("errcode") or 0)
    except (TypeError, ValueError):
        raise WeChatApiError(None, f"bad response: errcode {result.get('errcode')!r}") from None
    if errcode:
        raise WeChatApiError(errcode, str(result.get("errmsg", "")))
    return data if raw else result


class BaseWeChatClient:
    """Token handling and the one request path; the API areas live in sibling modules.

    A client reads the shared token once and keeps it: build one per operation or
    per chunk of sends, one per thread (`wechat_client()` is cheap).
    """

    def __init__(self, *, appid: str, secret: str, base_url: str, timeout: float) -> None:
        self.appid = appid
        self.secret = secret
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._token: str | None = None

    # --- the shared access token ------------------------------------------------------
    @property
    def _token_key(self) -> str:
        # The key wechatpy's session storage used: a deploy keeps the token in use.
        return f"wechat:session:{self.appid}_access_token"

    @property
    def _lock_key(self) -> str:
        return f"wechat:token-lock:{self.appid}"

    @property
    def access_token(self) -> str:
        if not self._token:
            self._token = cache.get(self._token_key) or self.fetch_access_token()
        return self._token

    def fetch_access_token(self) -> str:
        """Fetch a token once across all processes; the others wait for it and read it."""
        deadline = time.monotonic() + _LOCK_SECONDS
        acquired = cache.add(self._lock_key, "1", timeout=_LOCK_SECONDS)
        while not acquired:
            token = cache.get(self._token_key)
            if token:
                return token
            if time.monotonic() > deadline:
                break  # the holder is stuck or gone: fetch anyway
            time.sleep(0.05)
            acquired = cache.add(self._lock_key, "1", timeout=_LOCK_SECONDS)
        try:
            token = cache.get(self._token_key)
            if token:
                return token
            result = self._send(
                "POST",
                "/cgi-bin/stable_token",
                query={},
                body={
                    "grant_type": "client_credential",
                    "appid": self.appid,
                    "secret": self.secret,
                    "force_refresh": False,
                },
            )
            token = result.get("access_token")
            if not token:
                raise WeChatApiError(None, "bad response: no access_token")
            expires_in = int(result.get("expires_in") or 7200)
            cache.set(
                self._token_key,
                token,
                timeout=max(expires_in - _TOKEN_EARLY_EXPIRY_SECONDS, 60),
            )
            return token
        finally:
            if acquired:
                cache.delete(self._lock_key)

    def forget_token(self, token: str) -> None:
        """Drop the token, but only if it is still the one that failed."""
        if self._token == token:
            self._token = None
        if cache.get(self._token_key) == token:
            cache.delete(self._token_key)

    # --- requests ---------------------------------------------------------------------
    def _send(
        self,
        method: str,
        path: str,
        *,
        query: dict,
        body: dict | None = None,
        timeout: float | None = None,
        max_bytes: int | None = None,
        raw: bool = False,
    ) -> dict | bytes:
        """One HTTP exchange with WeChat, failures raised as WeChatApiError."""
        timeout = self.timeout if timeout is None else timeout
        url = f"{self.base_url}{path}"
        if query:
            url = f"{url}?{urlencode(query)}"
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json"} if data is not None else None
        deadline = time.monotonic() + timeout  # for the whole exchange, not per read
        try:
            response = _pool(self.base_url).request(
                method,
                url,
                body=data,
                headers=headers,
                timeout=timeout,
                retries=False,  # a repeated POST could be a second message
                redirect=False,
                preload_content=False,  # read under the caps and the total deadline
            )
        except urllib3.exceptions.HTTPError as exc:
            raise WeChatApiError(None, f"network: {exc.__class__.__name__}") from exc
        ctype = response.headers.get("Content-Type", "")
        try:
            content = _read_capped(response, max_bytes=max_bytes, deadline=deadline)
        except urllib3.exceptions.HTTPError as exc:
            response.close()
            raise WeChatApiError(None, f"network: {exc.__class__.__name__}") from exc
        except BaseException:
            response.close()  # unread bytes: the connection is not reused
            raise
        finally:
            response.release_conn()
        return _answer(response.status, ctype, content, raw=raw)

    def request(
        self,
        method: str,
        path: str,
        *,
        query: dict | None = None,
        body: dict | None = None,
        timeout: float | None = None,
        max_bytes: int | None = None,
        raw: bool = False,
    ) -> dict | bytes:
        """Call the API with the access token; a rejected token is replaced once, then retried."""
        for attempt in (1, 2):
            token = self.access_token
            try:
                return self._send(
                    method,
                    path,
                    query={**(query or {}), "access_token": token},
                    body=body,
                    timeout=timeout,
                    max_bytes=max_bytes,
                    raw=raw,
                )
            except WeChatApiError as exc:
                if exc.errcode in TOKEN_ERRORS and attempt == 1:
                    logger.info("wechat token rejected (%s); refreshing once", exc.errcode)
                    self.forget_token(token)
                    continue
                raise
        raise AssertionError("unreachable")

    def get(self, path: str, **kwargs) -> dict | bytes:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: dict, **kwargs) -> dict | bytes:
        return self.request("POST", path, body=body, **kwargs)


class BaseWeChatAPI:
    """One API area of the client (wechatpy's shape: `client.message.send_text(...)`)."""

    def __init__(self, client: BaseWeChatClient) -> None:
        self._client = client

    def _get(self, path: str, **kwargs) -> dict | bytes:
        return self._client.get(path, **kwargs)

    def _post(self, path: str, body: dict, **kwargs) -> dict | bytes:
        return self._client.post(path, body, **kwargs)
