"""A local HTTP server that answers like Tencent Cloud OCR's VatInvoiceVerifyNew.

It does not check TC3 signatures; it records each call (action, headers, JSON
body) and answers from a script: an invoice, an error code, a delay, or a
broken HTTP response.
"""

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class TencentCall:
    action: str
    headers: dict
    body: dict


@dataclass
class _State:
    calls: list[TencentCall] = field(default_factory=list)
    script: deque = field(default_factory=deque)
    lock: threading.Lock = field(default_factory=threading.Lock)


def invoice_payload(**overrides) -> dict:
    """A VatInvoice as the documented response carries it."""
    invoice = {
        "Code": "011002400211",
        "Number": "12345678",
        "Date": "2024-06-01",
        "BuyerName": "北京某某科技有限公司",
        "BuyerTaxCode": "91110000MA00000000",
        "SellerName": "北京某某商贸有限公司",
        "SellerTaxCode": "9144030071526726XG",
        "Type": "10",
        "CheckCode": "12345678901234567890",
        "IsAbandoned": "N",
        "AmountWithoutTax": "1000.00",
        "TaxAmount": "60.00",
        "AmountWithTax": "1060.00",
    }
    invoice.update(overrides)
    return invoice


class FakeTencentOcr:
    """Run with `with FakeTencentOcr() as api: settings.INVOICE_TENCENTCLOUD_ENDPOINT = api.url`."""

    def __init__(self) -> None:
        self.state = _State()
        handler = type("Handler", (_Handler,), {"state": self.state})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "FakeTencentOcr":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer_invoice(self, **overrides) -> None:
        self._push(("invoice", invoice_payload(**overrides)))

    def answer_error(self, code: str, message: str = "error") -> None:
        self._push(("error", {"Code": code, "Message": message}))

    def answer_after(self, seconds: float) -> None:
        """Delay the next answer (an invoice) by `seconds`."""
        self._push(("delay", seconds))

    def answer_http_error(self, status: int = 502) -> None:
        self._push(("http", status))

    @property
    def calls(self) -> list[TencentCall]:
        with self.state.lock:
            return list(self.state.calls)

    def _push(self, item) -> None:
        with self.state.lock:
            self.state.script.append(item)


class _Handler(BaseHTTPRequestHandler):
    state: _State

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        try:
            self._answer()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout tests)

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        body = json.loads(raw or b"{}")
        with self.state.lock:
            self.state.calls.append(
                TencentCall(self.headers.get("X-TC-Action", ""), dict(self.headers), body)
            )
            kind, value = self.state.script.popleft() if self.state.script else ("error", None)
        if kind == "delay":
            time.sleep(value)
            kind, value = "invoice", invoice_payload()
        if kind == "http":
            self.send_response(value)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<html>bad gateway</html>")
            return
        response: dict = {"RequestId": "req-fake-0001"}
        if kind == "invoice":
            response["Invoice"] = value
        else:
            response["Error"] = value or {"Code": "ResourceNotFound.NoInvoice", "Message": "no"}
        payload = json.dumps({"Response": response}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
