"""The one WeChat API client over real HTTP against the local fake WeChat API."""

import ast
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.management import call_command

from bot.channels.wechat.client import (
    Errcode,
    MediaTooLarge,
    WeChatApiError,
    wechat_client,
)
from bot.channels.wechat.fake_api import FakeWeChatApi
from tests.concurrency import run_together

CS = "/cgi-bin/message/custom/send"
TPL = "/cgi-bin/message/template/send"
SUB = "/cgi-bin/message/subscribe/bizsend"
TOKEN = "/cgi-bin/stable_token"
ROOT = Path(__file__).resolve().parents[4]


def _send(text="您的工单已受理", openid="o-client"):
    return wechat_client().message.send_text(openid, text)


# --- the access token -----------------------------------------------------------------


def test_customer_service_text_reaches_wechat_with_a_fetched_token(fake_wechat, settings):
    _send("您的发票已入库 🎉")
    [token_call] = fake_wechat.calls(TOKEN)
    assert token_call.body == {
        "grant_type": "client_credential",
        "appid": settings.WECHAT_APP_ID,
        "secret": "test-secret",
        "force_refresh": False,
    }
    [call] = fake_wechat.calls(CS)
    assert call.body == {
        "touser": "o-client",
        "msgtype": "text",
        "text": {"content": "您的发票已入库 🎉"},
    }
    assert call.query["access_token"].startswith("TOKEN-")


def test_token_is_fetched_once_under_concurrency(fake_wechat):
    fake_wechat.state.latency_seconds = 0.2  # a slow fetch: everyone arrives while it runs
    run_together(8, lambda i: _send(openid=f"o-c{i}"))
    assert len(fake_wechat.calls(TOKEN)) == 1
    assert len({c.query["access_token"] for c in fake_wechat.calls(CS)}) == 1
    assert len(fake_wechat.calls(CS)) == 8


def test_token_is_shared_between_clients(fake_wechat):
    for _ in range(3):
        _send()
    assert len(fake_wechat.calls(TOKEN)) == 1
    assert len(fake_wechat.calls(CS)) == 3


def test_a_client_reads_the_shared_token_once(fake_wechat):
    client = wechat_client()
    client.message.send_text("o-1", "a")
    cache.delete(client._token_key)  # the shared copy is gone; this client keeps its own
    client.message.send_text("o-1", "b")
    assert len(fake_wechat.calls(TOKEN)) == 1


@pytest.mark.parametrize("errcode", [40001, 40014, 42001])
def test_token_errors_refresh_once_and_retry(fake_wechat, errcode):
    _send()  # warm the token
    fake_wechat.fail_next(CS, errcode)
    _send()
    assert len(fake_wechat.calls(CS)) == 3
    assert len(fake_wechat.calls(TOKEN)) == 2


def test_revoked_token_is_replaced(fake_wechat):
    _send()
    fake_wechat.revoke_tokens()
    _send()
    tokens = [c.query["access_token"] for c in fake_wechat.calls(CS)]
    assert tokens[0] == tokens[1] != tokens[2]
    assert len(fake_wechat.calls(TOKEN)) == 2


def test_a_token_error_twice_fails_without_looping(fake_wechat):
    fake_wechat.fail_next(CS, 40001, 40001, 40001)
    with pytest.raises(WeChatApiError) as error:
        _send()
    assert error.value.errcode == Errcode.INVALID_CREDENTIAL
    assert len(fake_wechat.calls(CS)) == 2


def test_a_token_is_forgotten_only_if_still_the_failing_one(fake_wechat):
    stale = wechat_client()
    stale.message.send_text("o-1", "warm")  # holds TOKEN-1
    fake_wechat.revoke_tokens()
    _send()  # another worker: rejected, fetches TOKEN-2 and shares it
    stale.message.send_text("o-1", "again")  # rejected, reads TOKEN-2: no third fetch
    assert len(fake_wechat.calls(TOKEN)) == 2
    assert cache.get(stale._token_key) == fake_wechat.calls(CS)[-1].query["access_token"]


def test_a_failed_token_fetch_is_an_error_and_not_cached(fake_wechat):
    fake_wechat.fail_next(TOKEN, 40013)
    with pytest.raises(WeChatApiError) as error:
        _send()
    assert error.value.errcode == 40013
    assert fake_wechat.calls(CS) == []
    _send()  # the lock was released: the next call fetches again
    assert len(fake_wechat.calls(TOKEN)) == 2


# --- errors ---------------------------------------------------------------------------


@pytest.mark.parametrize("errcode", [45009, -1])
def test_frequency_limit_and_busy_are_transient(fake_wechat, errcode):
    fake_wechat.fail_next(CS, errcode)
    with pytest.raises(WeChatApiError) as error:
        _send()
    assert (error.value.errcode, error.value.transient) == (errcode, True)
    assert len(fake_wechat.calls(CS)) == 1  # no retry here: the caller backs off


def test_customer_service_quota_is_surfaced(fake_wechat):
    fake_wechat.fail_next(CS, 45047)
    with pytest.raises(WeChatApiError) as error:
        _send()
    assert error.value.errcode == Errcode.OUT_OF_CUSTOMER_SERVICE_QUOTA
    assert not error.value.transient


@pytest.mark.parametrize(
    ("errcode", "name"),
    [(43004, "USER_UNSUBSCRIBED"), (45015, "OUTSIDE_REPLY_WINDOW"), (47003, None)],
)
def test_other_refusals_are_final(fake_wechat, errcode, name):
    fake_wechat.fail_next(CS, errcode)
    with pytest.raises(WeChatApiError) as error:
        _send()
    assert error.value.errcode == errcode and not error.value.transient
    assert name is None or Errcode[name] == errcode


def test_subscribe_refused_is_surfaced(fake_wechat):
    fake_wechat.fail_next(SUB, 43101)
    with pytest.raises(WeChatApiError) as error:
        wechat_client().message.send_subscribe("o-1", "SUB-1", {"thing1": {"value": "x"}})
    assert error.value.errcode == Errcode.SUBSCRIBE_REFUSED and not error.value.transient


def test_connection_refused_is_transient(settings):
    settings.WECHAT_APP_SECRET = "s"
    settings.WECHAT_API_BASE_URL = "http://127.0.0.1:9"  # discard port: connection refused
    with pytest.raises(WeChatApiError) as error:
        _send()
    assert error.value.errcode is None and error.value.transient
    assert error.value.errmsg.startswith("network")


def test_a_network_failure_of_the_call_itself_is_transient(settings):
    settings.WECHAT_APP_SECRET = "s"
    with FakeWeChatApi() as api:
        settings.WECHAT_API_BASE_URL = api.base_url
        _send()  # the token is now in the shared cache
    settings.WECHAT_API_BASE_URL = "http://127.0.0.1:9"
    with pytest.raises(WeChatApiError) as error:
        _send()  # no token fetch: the send itself finds nobody listening
    assert error.value.errcode is None and error.value.transient


class _Garbage:
    """A server answering every request with an HTML error page (a proxy, a load balancer)."""

    def __init__(self, status: int) -> None:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = b"<html>bad gateway</html>"
                self.send_response(status)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize(("status", "detail"), [(502, "HTTP 502"), (200, "bad response")])
def test_http_errors_and_unreadable_answers_are_transient(settings, status, detail):
    settings.WECHAT_APP_SECRET = "s"
    with _Garbage(status) as base_url:
        settings.WECHAT_API_BASE_URL = base_url
        with pytest.raises(WeChatApiError) as error:
            _send()
    assert error.value.errcode is None and error.value.transient
    assert error.value.errmsg.startswith(detail)


# --- the API areas --------------------------------------------------------------------


def test_template_message_carries_client_msg_id_and_answers_msgid(fake_wechat):
    result = wechat_client().message.send_template(
        "o-1",
        "TPL1",
        {"first": {"value": "x"}},
        url="https://example.com/t/1",
        client_msg_id="notice-7",
    )
    assert str(result["msgid"]).isdigit()
    [call] = fake_wechat.calls(TPL)
    assert call.body == {
        "touser": "o-1",
        "template_id": "TPL1",
        "data": {"first": {"value": "x"}},
        "url": "https://example.com/t/1",
        "client_msg_id": "notice-7",
    }


def test_subscribe_message_goes_to_bizsend(fake_wechat):
    wechat_client().message.send_subscribe(
        "o-1", "SUB-1", {"thing1": {"value": "x"}}, page="https://example.com/p"
    )
    [call] = fake_wechat.calls(SUB)
    assert call.body == {
        "touser": "o-1",
        "template_id": "SUB-1",
        "data": {"thing1": {"value": "x"}},
        "page": "https://example.com/p",
    }


@pytest.mark.parametrize(("tag_id", "to_all"), [(None, True), (101, False)])
def test_mass_send_by_tag(fake_wechat, tag_id, to_all):
    result = wechat_client().message.send_mass_text(
        "维护通知", tag_id=tag_id, client_msg_id="broadcast:3"
    )
    assert result["msg_id"]
    [call] = fake_wechat.calls("/cgi-bin/message/mass/sendall")
    assert call.body["filter"] == {"is_to_all": to_all, "tag_id": tag_id}
    assert (call.body["msgtype"], call.body["text"], call.body["clientmsgid"]) == (
        "text",
        {"content": "维护通知"},
        "broadcast:3",
    )


def test_media_is_downloaded_by_media_id(fake_wechat):
    fake_wechat.put_media("M1", b"\xff\xd8jpeg")
    assert wechat_client().media.download("M1", max_bytes=100, timeout=3) == b"\xff\xd8jpeg"
    [call] = fake_wechat.calls("/cgi-bin/media/get")
    assert call.query["media_id"] == "M1"


def test_media_over_the_cap_is_refused(fake_wechat):
    fake_wechat.put_media("BIG", b"x" * 5000)
    with pytest.raises(MediaTooLarge):
        wechat_client().media.download("BIG", max_bytes=1000, timeout=3)


def test_unknown_media_is_wechats_error(fake_wechat):
    with pytest.raises(WeChatApiError) as error:
        wechat_client().media.download("GONE", max_bytes=1000, timeout=3)
    assert error.value.errcode == 40007 and not error.value.transient


@pytest.mark.django_db
def test_menu_command_creates_menu(fake_wechat):
    call_command("wechat_menu_create")
    [call] = fake_wechat.calls("/cgi-bin/menu/create")
    assert call.body["button"][1]["key"] == "MY_TICKETS"


# --- the boundaries -------------------------------------------------------------------


def _product_modules():
    for top in ("bot", "support", "tickets"):
        yield from (ROOT / top).rglob("*.py")


def test_no_wechat_api_path_outside_the_channel():
    channel = ROOT / "bot" / "channels" / "wechat"
    holders = [
        str(path.relative_to(ROOT))
        for path in _product_modules()
        if channel not in path.parents and "/cgi-bin/" in path.read_text(encoding="utf-8")
    ]
    assert holders == []


def test_client_and_events_import_nothing_above_the_channel():
    channel = ROOT / "bot" / "channels" / "wechat"
    above = ("bot.notices", "bot.dialog", "bot.invoices", "bot.helpdesk", "tickets")
    offenders = []
    for path in [*(channel / "client").glob("*.py"), channel / "events.py"]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.startswith(above)]
    assert offenders == []
