"""Signed hostile input, replay and modes, dedup without MsgId, PicUrl tricks: via the URL.

Audit items 2, 3, 7 and 8. Whatever a signed sender puts in a body ends in a 4xx or a
reply, never a 5xx and never a half-written row; on PostgreSQL too (CI's second run).
"""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode

import pytest

from bot.conversations.models import Follower, Message
from bot.simulator.envelope import build_delivery, fields_to_xml, message_fields

pytestmark = pytest.mark.django_db


def _post(client, delivery, body=None):
    return client.post(
        delivery.path, delivery.body if body is None else body, content_type="text/xml"
    )


def _nothing_stored():
    assert Message.objects.count() == 0
    assert Follower.objects.count() == 0


# --- item 7: hostile fields and encodings ---------------------------------------------


@pytest.mark.parametrize(
    "override",
    [
        {"MsgId": "9" * 500},
        {"MsgId": "12ab"},
        {"FromUserName": "o" * 65},
        {"FromUserName": "o-user\u202e<script>"},
        {"CreateTime": "9" * 400},
        {"MsgType": "t" * 200},
    ],
    ids=["msgid-500-digits", "msgid-not-digits", "openid-65", "openid-odd", "createtime", "type"],
)
def test_hostile_fields_are_a_400_and_nothing_is_written(client, override):
    fields = {**message_fields(openid="o-hostile", msg_type="text", Content="你好"), **override}
    response = _post(client, build_delivery(fields))
    assert response.status_code == 400
    _nothing_stored()


@pytest.mark.parametrize("mode", ["plain", "safe"])
@pytest.mark.parametrize(
    "encoding", ["utf-16", "utf-16-le", "utf-32", "gb18030", "latin-1", "shift_jis"]
)
def test_other_declared_encodings_are_a_400(client, encoding, mode):
    fields = message_fields(openid="o-enc", msg_type="text", Content="发票")
    delivery = build_delivery(fields, mode=mode)
    xml = delivery.body.decode()
    body = f'<?xml version="1.0" encoding="{encoding}"?>{xml}'.encode(encoding, "replace")
    response = _post(client, delivery, body)
    assert response.status_code == 400
    _nothing_stored()


def test_a_utf16_body_without_declaration_is_a_400(client):
    delivery = build_delivery(message_fields(openid="o-enc", msg_type="text", Content="x"))
    assert _post(client, delivery, delivery.body.decode().encode("utf-16")).status_code == 400
    _nothing_stored()


@pytest.mark.parametrize(
    "body",
    [
        b"<xml><ToUserName>gh</ToUserName><FromUserName>o-nul</FromUserName>"
        b"<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>a\x00b</Content>"
        b"<MsgId>1</MsgId></xml>",
        b"<xml><ToUserName>gh</ToUserName><FromUserName>o-nul</FromUserName>"
        b"<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>a&#0;b</Content>"
        b"<MsgId>1</MsgId></xml>",
        b"<xml><ToUserName>gh</ToUserName><FromUserName>o-nul\x00x</FromUserName>"
        b"<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>ab</Content></xml>",
        b"\xff\xfe<\x00x\x00m\x00l\x00>\x00",
    ],
)
def test_nul_bytes_are_a_400(client, body):
    delivery = build_delivery(message_fields(openid="o-nul", msg_type="text", Content="x"))
    assert _post(client, delivery, body).status_code == 400
    _nothing_stored()


def test_nul_inside_an_encrypted_envelope_is_a_400(client):
    fields = message_fields(openid="o-nul", msg_type="text", Content="a\x00b")
    assert _post(client, build_delivery(fields, mode="safe")).status_code == 400
    _nothing_stored()


# --- item 3: replay and encryption modes ----------------------------------------------


def test_a_reused_nonce_with_another_body_is_refused(client):
    first = build_delivery(message_fields(openid="o-replay", msg_type="text", Content="你好"))
    assert _post(client, first).status_code == 200
    forged = fields_to_xml(message_fields(openid="o-replay", msg_type="text", Content="转人工"))
    response = _post(client, first, forged.encode())
    assert response.status_code == 403
    assert Message.objects.filter(direction="in").count() == 1


def test_a_refused_replay_leaves_the_forged_message_free_for_its_real_delivery(client):
    """The replay is refused in the dedup claim's round trip; the claim it took is given
    up, so the message it forged (another sender, another MsgId) is still answered when
    WeChat really delivers it."""
    first = build_delivery(message_fields(openid="o-replay", msg_type="text", Content="你好"))
    assert _post(client, first).status_code == 200
    victim = message_fields(openid="o-victim", msg_type="text", Content="转人工")
    assert _post(client, first, fields_to_xml(victim).encode()).status_code == 403
    assert not Follower.objects.filter(openid="o-victim").exists()
    real = _post(client, build_delivery(victim))  # its own timestamp and nonce
    assert real.status_code == 200 and "<Content>" in real.content.decode()
    assert Message.objects.filter(follower__openid="o-victim", direction="in").count() == 1


def test_a_true_retry_same_query_same_body_is_answered_the_same(client):
    delivery = build_delivery(message_fields(openid="o-retry", msg_type="text", Content="你好"))
    first, second = _post(client, delivery), _post(client, delivery)
    assert second.status_code == 200
    assert second.content == first.content
    assert Message.objects.filter(direction="in").count() == 1


def test_safe_mode_refuses_an_unencrypted_body(client, settings):
    settings.WECHAT_ENCRYPTION_MODE = "safe"
    fields = message_fields(openid="o-safe", msg_type="text", Content="你好")
    assert _post(client, build_delivery(fields)).status_code == 403
    _nothing_stored()
    assert _post(client, build_delivery(fields, mode="safe")).status_code == 200


def test_plaintext_mode_refuses_an_encrypted_body(client, settings):
    settings.WECHAT_ENCRYPTION_MODE = "plaintext"
    fields = message_fields(openid="o-plain", msg_type="text", Content="你好")
    assert _post(client, build_delivery(fields, mode="safe")).status_code == 400
    assert _post(client, build_delivery(fields)).status_code == 200


@pytest.mark.parametrize("mode", ["plain", "compatible", "safe"])
def test_compatible_mode_the_default_accepts_every_envelope(wechat, settings, mode):
    assert settings.WECHAT_ENCRYPTION_MODE == "compatible"
    assert wechat.text("o-compat", "你好", mode=mode).status_code == 200


# --- item 8: messages without MsgId ---------------------------------------------------


def test_two_texts_without_msgid_in_the_same_second_are_both_kept(client):
    now = str(int(time.time()))
    replies = []
    for _ in range(2):
        fields = message_fields(openid="o-nomsgid", msg_type="text", Content="转人工")
        fields.pop("MsgId", None)
        fields["CreateTime"] = now
        response = _post(client, build_delivery(fields))
        assert response.status_code == 200
        replies.append(response)
    assert Message.objects.filter(direction="in", follower__openid="o-nomsgid").count() == 2


def test_a_retry_of_a_text_without_msgid_is_stored_once(client):
    fields = message_fields(openid="o-nomsgid-retry", msg_type="text", Content="你好")
    fields.pop("MsgId", None)
    delivery = build_delivery(fields)
    assert _post(client, delivery).status_code == 200
    assert _post(client, delivery).status_code == 200
    assert Message.objects.filter(direction="in").count() == 1


def test_events_keep_wechats_rule_createtime_event_eventkey(client):
    fields = message_fields(openid="o-evt", msg_type="event", Event="CLICK", EventKey="MY_TICKETS")
    for _ in range(2):  # WeChat's retry of an event: new nonce, same fields
        assert _post(client, build_delivery(fields)).status_code == 200
    assert Message.objects.filter(direction="in").count() == 1


# --- item 2: PicUrl tricks through the URL --------------------------------------------


class _Pic:
    def __init__(self):
        self.hits = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                outer.hits += 1
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"\xff\xd8\xff\xe0jpeg")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _image(client, openid, pic_url):
    fields = message_fields(openid=openid, msg_type="image", PicUrl=pic_url, MediaId="")
    response = _post(client, build_delivery(fields))
    assert response.status_code == 200
    return response.content.decode()


def _reply_text(body: str) -> str:
    from bot.simulator.envelope import open_reply

    return open_reply(body).get("Content", "") if body != "success" else ""


@pytest.mark.parametrize(
    "template",
    [
        "http://127.0.0.1:{port}\\@mmbiz.qpic.cn/x",
        "http://127.0.0.1:{port}@mmbiz.qpic.cn/x",
        "http://mmbiz.qpic.cn:{port}/x",
        "http://mmbiz.qpic.cn\\@127.0.0.1:{port}/x",
    ],
)
def test_pic_url_tricks_get_the_same_answer_as_any_refused_url(client, settings, template):
    settings.INVOICE_PHOTO_URL_HOSTS = ["mmbiz.qpic.cn"]
    pic = _Pic()
    try:
        trick = _reply_text(_image(client, "o-ssrf-1", template.format(port=pic.port)))
        plain = _reply_text(_image(client, "o-ssrf-2", "http://example.invalid/x.jpg"))
    finally:
        pic.close()
    assert pic.hits == 0
    assert trick == plain


def test_query_of_signature_only_is_what_plaintext_signs():
    """Documentation by test: the plaintext signature does not cover the body."""
    delivery = build_delivery(message_fields(openid="o", msg_type="text", Content="x"))
    assert set(delivery.query) >= {"signature", "timestamp", "nonce"}
    assert "msg_signature" not in delivery.query
    assert urlencode(delivery.query)


# --- item 6: a trickling photo host through the URL -----------------------------------


def test_an_image_whose_host_trickles_is_answered_inside_wechats_window(client, settings):
    import socket

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
                conn.sendall(b"\xff")
            except OSError:
                break
            time.sleep(0.3)
        conn.close()

    threading.Thread(target=trickle, daemon=True).start()
    settings.INVOICE_PHOTO_URL_HOSTS = [f"127.0.0.1:{port}"]
    settings.INVOICE_PHOTO_TIMEOUT = 1.0
    started = time.monotonic()
    try:
        body = _image(client, "o-trickle", f"http://127.0.0.1:{port}/mmbiz_jpg/x/0")
    finally:
        stop.set()
        listener.close()
    assert time.monotonic() - started < 3.0
    assert _reply_text(body)  # a polite answer, not silence
    assert Message.objects.filter(direction="in", msg_type="image").count() == 1
