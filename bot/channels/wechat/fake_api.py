"""A local HTTP server that speaks WeChat's API protocol, for tests, benchmarks and demos.

Point WECHAT_API_BASE_URL at it. It issues access tokens (`/cgi-bin/token`,
`/cgi-bin/stable_token`), accepts customer-service, template, subscribe
(`message/subscribe/bizsend`) and mass (`message/mass/sendall`) messages and menu
creation, serves media, records every request, and can be told to answer the next
calls with a WeChat error code.
"""

import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


@dataclass
class Recorded:
    path: str
    query: dict[str, str]
    body: dict | None


@dataclass
class FakeState:
    latency_seconds: float = 0.0
    token_ttl: int = 7200
    requests: list[Recorded] = field(default_factory=list)
    # path -> queue of errcodes to answer next (0 = answer normally)
    scripted_errors: dict[str, deque] = field(default_factory=dict)
    valid_tokens: set[str] = field(default_factory=set)
    media: dict[str, bytes] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    counter: itertools.count = field(default_factory=lambda: itertools.count(1))


class FakeWeChatApi:
    """Run with `with FakeWeChatApi() as api: settings.WECHAT_API_BASE_URL = api.base_url`."""

    def __init__(self, *, latency_seconds: float = 0.0, port: int = 0) -> None:
        self.state = FakeState(latency_seconds=latency_seconds)
        handler = type("Handler", (_Handler,), {"state": self.state})
        self.server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "FakeWeChatApi":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- scripting and inspection -------------------------------------------------
    def fail_next(self, path: str, *errcodes: int) -> None:
        """Answer the next calls to `path` with these errcodes, in order."""
        with self.state.lock:
            self.state.scripted_errors.setdefault(path, deque()).extend(errcodes)

    def revoke_tokens(self) -> None:
        """Make every issued token invalid, as when another party forced a refresh."""
        with self.state.lock:
            self.state.valid_tokens.clear()

    def calls(self, path: str) -> list[Recorded]:
        with self.state.lock:
            return [r for r in self.state.requests if r.path == path]

    def put_media(self, media_id: str, content: bytes) -> None:
        self.state.media[media_id] = content


class _Handler(BaseHTTPRequestHandler):
    state: FakeState
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        return

    def _reply(self, payload: dict | bytes, status: int = 200, ctype="application/json") -> None:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _record(self) -> tuple[str, dict[str, str], dict | None]:
        parsed = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = {"_raw": raw.decode("utf-8", "replace")}
        with self.state.lock:
            self.state.requests.append(Recorded(parsed.path, query, body))
        return parsed.path, query, body

    def _scripted(self, path: str) -> int:
        with self.state.lock:
            queue = self.state.scripted_errors.get(path)
            return queue.popleft() if queue else 0

    def _issue_token(self) -> dict:
        with self.state.lock:
            token = f"TOKEN-{next(self.state.counter)}"
            self.state.valid_tokens.add(token)
        return {"access_token": token, "expires_in": self.state.token_ttl}

    def do_GET(self):
        path, query, _ = self._record()
        if self.state.latency_seconds:
            time.sleep(self.state.latency_seconds)
        if path == "/cgi-bin/token":
            return self._reply(self._issue_token())
        if path == "/cgi-bin/media/get":
            if query.get("access_token") not in self.state.valid_tokens:
                return self._reply({"errcode": 40001, "errmsg": "invalid credential"})
            content = self.state.media.get(query.get("media_id", ""))
            if content is None:
                return self._reply({"errcode": 40007, "errmsg": "invalid media_id"})
            return self._reply(content, ctype="image/jpeg")
        return self._reply({"errcode": 404, "errmsg": "unknown api"}, status=404)

    def do_POST(self):
        path, query, _body = self._record()
        if self.state.latency_seconds:
            time.sleep(self.state.latency_seconds)
        errcode = self._scripted(path)
        if errcode:
            return self._reply({"errcode": errcode, "errmsg": f"scripted error {errcode}"})
        if path == "/cgi-bin/stable_token":
            return self._reply(self._issue_token())
        if query.get("access_token") not in self.state.valid_tokens:
            return self._reply({"errcode": 40001, "errmsg": "invalid credential"})
        if path == "/cgi-bin/message/custom/send":
            return self._reply({"errcode": 0, "errmsg": "ok"})
        if path == "/cgi-bin/message/template/send":
            with self.state.lock:
                msgid = 200000 + next(self.state.counter)
            return self._reply({"errcode": 0, "errmsg": "ok", "msgid": msgid})
        if path == "/cgi-bin/message/subscribe/bizsend":
            # WeChat answers errcode/errmsg only: no msgid, no client_msg_id deduplication.
            return self._reply({"errcode": 0, "errmsg": "ok"})
        if path == "/cgi-bin/message/mass/sendall":
            with self.state.lock:
                msg_id = 1000000000 + next(self.state.counter)
            answer = {"errcode": 0, "errmsg": "send job submission success", "msg_id": msg_id}
            return self._reply(answer)
        if path == "/cgi-bin/menu/create":
            return self._reply({"errcode": 0, "errmsg": "ok"})
        return self._reply({"errcode": 404, "errmsg": "unknown api"}, status=404)
