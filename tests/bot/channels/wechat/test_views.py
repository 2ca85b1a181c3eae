"""The webhook through its URL: every mode, every refusal, retries and events."""

import threading
import time

import pytest
from django.db import connection

from bot.channels.wechat.crypto import signature_of
from bot.conversations.models import Follower, Message
from bot.simulator.envelope import build_delivery, fields_to_xml, message_fields

pytestmark = pytest.mark.django_db


def _signed_query(token="fapiao-dev-token", timestamp=None, nonce="n0nce"):  # noqa: S107
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {"signature": signature_of(token, ts, nonce), "timestamp": ts, "nonce": nonce}


# --- URL verification ---------------------------------------------------------------


def test_get_echoes_echostr_when_signed(client):
    response = client.get("/wechat/", {**_signed_query(), "echostr": "4375120948345356249"})
    assert response.status_code == 200
    assert response.content == b"4375120948345356249"


def test_get_with_bad_signature_is_403(client):
    response = client.get("/wechat/", {**_signed_query(token="wrong"), "echostr": "x"})
    assert response.status_code == 403
    assert b"x" not in response.content


def test_get_with_stale_timestamp_is_403(client):
    stale = int(time.time()) - 301
    response = client.get("/wechat/", {**_signed_query(timestamp=stale), "echostr": "x"})
    assert response.status_code == 403


# --- modes --------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["plain", "compatible", "safe"])
def test_text_message_is_answered_in_every_mode(wechat, mode):
    response = wechat.text("o-mode-user", "你好", mode=mode)
    assert response.status_code == 200
    body = response.content.decode()
    assert ("<Encrypt>" in body) == (mode != "plain")
    reply = wechat.reply(response)
    assert reply["MsgType"] == "text"
    assert reply["ToUserName"] == "o-mode-user"
    assert "发票助手" in reply["Content"]
    stored = Message.objects.get(direction="in")
    assert stored.text == "你好"
    assert stored.follower.openid == "o-mode-user"
    assert Message.objects.filter(direction="out", channel="passive", reply_to=stored).count() == 1


def test_emoji_and_full_width_text_are_stored_intact(wechat):
    content = "发票😀查不到 ０１１００１９００２１１ ＡＢＣ"
    response = wechat.text("o-emoji", content)
    assert response.status_code == 200
    assert Message.objects.get(direction="in").text == content


def test_hot_path_query_budget(wechat, django_assert_max_num_queries):
    wechat.text("o-budget", "预热")  # the follower exists afterwards, as for most messages
    with django_assert_max_num_queries(12):
        assert wechat.text("o-budget", "再来一条").status_code == 200


# --- refusals -----------------------------------------------------------------------


def test_bad_signature_is_403_and_nothing_is_stored(client):
    fields = message_fields(openid="o-x", msg_type="text", Content="hi")
    delivery = build_delivery(fields, token="not-our-token")
    response = client.post(delivery.path, delivery.body, content_type="text/xml")
    assert response.status_code == 403
    assert not Message.objects.exists()


def test_stale_timestamp_is_403(client):
    fields = message_fields(openid="o-x", msg_type="text", Content="hi")
    delivery = build_delivery(fields, timestamp=int(time.time()) - 600)
    assert client.post(delivery.path, delivery.body, content_type="text/xml").status_code == 403
    delivery = build_delivery(fields, timestamp=int(time.time()) + 600)
    assert client.post(delivery.path, delivery.body, content_type="text/xml").status_code == 403


def test_body_over_64_kib_is_413(client):
    body = fields_to_xml(message_fields(openid="o-x", msg_type="text", Content="票" * 30000))
    assert len(body.encode()) > 64 * 1024
    response = client.post(
        "/wechat/?" + "&".join(f"{k}={v}" for k, v in _signed_query().items()),
        body.encode(),
        content_type="text/xml",
    )
    assert response.status_code == 413
    assert not Message.objects.exists()


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<xml><ToUserName>gh</ToUserName><FromUserName>o-x</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&lol3;</Content><MsgId>1</MsgId></xml>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>gh</ToUserName><FromUserName>o-x</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&xxe;</Content><MsgId>2</MsgId></xml>"""


@pytest.mark.parametrize(
    "body",
    [
        b"<xml><ToUserName>unclosed",
        b"not xml at all",
        b"",
        b"\xff\xfe\x00garbage",
        b"<html><body>hi</body></html>",
        BILLION_LAUGHS,
        EXTERNAL_ENTITY,
    ],
    ids=["unclosed", "text", "empty", "binary", "wrong-root", "billion-laughs", "xxe"],
)
def test_malformed_or_hostile_xml_is_400(client, body):
    query = "&".join(f"{k}={v}" for k, v in _signed_query().items())
    response = client.post("/wechat/?" + query, body, content_type="text/xml")
    assert response.status_code == 400
    assert not Message.objects.exists()


def test_missing_required_fields_is_400(client):
    query = "&".join(f"{k}={v}" for k, v in _signed_query().items())
    response = client.post("/wechat/?" + query, b"<xml><Content>hi</Content></xml>", "text/xml")
    assert response.status_code == 400


def test_encrypted_with_wrong_msg_signature_is_403(client):
    fields = message_fields(openid="o-x", msg_type="text", Content="hi")
    delivery = build_delivery(fields, mode="safe")
    query = dict(delivery.query, msg_signature="0" * 40)
    path = "/wechat/?" + "&".join(f"{k}={v}" for k, v in query.items())
    assert client.post(path, delivery.body, content_type="text/xml").status_code == 403


def test_encrypted_garbage_is_400(client):
    ts, nonce = str(int(time.time())), "abc"
    encrypt = "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="
    query = {
        "signature": signature_of("fapiao-dev-token", ts, nonce),
        "timestamp": ts,
        "nonce": nonce,
        "encrypt_type": "aes",
        "msg_signature": signature_of("fapiao-dev-token", ts, nonce, encrypt),
    }
    body = f"<xml><ToUserName>gh</ToUserName><Encrypt>{encrypt}</Encrypt></xml>".encode()
    path = "/wechat/?" + "&".join(f"{k}={v}" for k, v in query.items())
    assert client.post(path, body, content_type="text/xml").status_code == 400


def test_encrypted_request_without_configured_key_is_400(wechat, settings):
    fields = message_fields(openid="o-x", msg_type="text", Content="hi")
    delivery = build_delivery(fields, mode="safe")
    settings.WECHAT_ENCODING_AES_KEY = ""
    response = wechat.client.post(delivery.path, delivery.body, content_type="text/xml")
    assert response.status_code == 400


def test_other_methods_are_405(client):
    assert client.put("/wechat/").status_code == 405


def test_unknown_message_type_is_acknowledged_and_stored(wechat):
    fields = message_fields(openid="o-x", msg_type="miniprogrampage", Title="小程序")
    response = wechat.post(fields)
    assert response.status_code == 200
    assert Message.objects.get(direction="in").msg_type == "unknown"


# --- retries ------------------------------------------------------------------------


def test_three_retries_store_one_row_and_get_the_same_reply(wechat):
    fields = message_fields(openid="o-retry", msg_type="text", Content="发票查不到")
    replies = [wechat.reply(wechat.post(fields))["Content"] for _ in range(4)]
    assert len(set(replies)) == 1
    assert Message.objects.filter(direction="in").count() == 1
    assert Message.objects.filter(direction="out").count() == 1


def test_retry_after_cache_loss_is_caught_by_the_database(wechat):
    from django.core.cache import cache

    fields = message_fields(openid="o-retry", msg_type="text", Content="发票查不到")
    first = wechat.reply(wechat.post(fields))
    cache.clear()  # the fast path forgot: the unique constraint must still hold
    second = wechat.reply(wechat.post(fields))
    # The reply's CreateTime is the time of answering, which may tick between the two.
    assert first.pop("CreateTime") and second.pop("CreateTime")
    assert first == second
    assert Message.objects.filter(direction="in").count() == 1
    assert Message.objects.filter(direction="out").count() == 1


def test_same_msgid_from_two_senders_are_two_messages(wechat):
    for openid in ("o-a", "o-b"):
        wechat.post(message_fields(openid=openid, msg_type="text", Content="hi", MsgId="42"))
    assert Message.objects.filter(direction="in").count() == 2


def test_event_retries_dedup_by_sender_time_and_event(wechat):
    fields = message_fields(openid="o-ev", msg_type="event", Event="CLICK", EventKey="HELP")
    for _ in range(3):
        wechat.post(fields)
    later = dict(fields, CreateTime=str(int(fields["CreateTime"]) + 1))
    wechat.post(later)
    assert Message.objects.filter(direction="in", msg_type="event").count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_deliveries_store_one_row(client, settings):
    if connection.vendor == "sqlite":
        pytest.skip("concurrent writers need PostgreSQL (CI runs this there)")
    fields = message_fields(openid="o-concurrent", msg_type="text", Content="发票查不到")
    delivery = build_delivery(fields)
    barrier = threading.Barrier(2)
    results = []

    def deliver():
        from django.test import Client

        barrier.wait()
        response = Client().post(delivery.path, delivery.body, content_type="text/xml")
        results.append((response.status_code, response.content))
        connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert [status for status, _ in results] == [200, 200]
    assert Message.objects.filter(direction="in").count() == 1
    assert Message.objects.filter(direction="out").count() == 1


# --- message kinds and events --------------------------------------------------------


def test_voice_with_recognition_is_answered_from_the_text(wechat):
    fields = message_fields(
        openid="o-v", msg_type="voice", MediaId="m1", Format="amr", Recognition="你好"
    )
    reply = wechat.reply(wechat.post(fields))
    assert "发票助手" in reply["Content"]
    assert Message.objects.get(direction="in").recognition == "你好"


def test_voice_without_recognition_asks_to_type(wechat):
    fields = message_fields(openid="o-v", msg_type="voice", MediaId="m1", Format="amr")
    reply = wechat.reply(wechat.post(fields))
    assert "文字" in reply["Content"]


def test_image_is_stored_with_url_and_media_id(wechat):
    fields = message_fields(
        openid="o-i", msg_type="image", PicUrl="http://example.invalid/a.jpg", MediaId="mid"
    )
    assert wechat.post(fields).status_code == 200
    stored = Message.objects.get(direction="in")
    assert (stored.pic_url, stored.media_id) == ("http://example.invalid/a.jpg", "mid")


def test_subscribe_welcomes_and_marks_follower(wechat):
    reply = wechat.reply(wechat.event("o-sub", "subscribe"))
    assert "感谢关注" in reply["Content"]
    assert "菜单" in reply["Content"]
    follower = Follower.objects.get(openid="o-sub")
    assert follower.subscribed and follower.subscribed_at is not None


def test_unsubscribe_marks_and_keeps_history(wechat):
    wechat.event("o-unsub", "subscribe")
    wechat.text("o-unsub", "你好")
    response = wechat.event("o-unsub", "unsubscribe")
    assert response.content == b"success"
    follower = Follower.objects.get(openid="o-unsub")
    assert not follower.subscribed and follower.unsubscribed_at is not None
    assert follower.messages.filter(direction="in").count() == 3


@pytest.mark.parametrize(
    ("key", "expected"),
    [("VERIFY_INVOICE", "校验码"), ("DIGITAL_HELP", "20位"), ("NO_SUCH_KEY", "发票助手")],
)
def test_menu_click_routes_to_its_answer(wechat, key, expected):
    reply = wechat.reply(wechat.event("o-click", "CLICK", key))
    assert expected in reply["Content"]


@pytest.mark.parametrize("event", ["VIEW", "LOCATION"])
def test_quiet_events_get_success(wechat, event):
    extra = {"Latitude": "39.9", "Longitude": "116.4", "Precision": "30"}
    response = wechat.event("o-quiet", event, "https://example.invalid/", **extra)
    assert response.content == b"success"
    assert Message.objects.filter(direction="in", event=event).count() == 1


def test_scan_is_answered(wechat):
    reply = wechat.reply(wechat.event("o-scan", "SCAN", "123", Ticket="t"))
    assert reply is not None


@pytest.mark.parametrize(
    ("status", "expected"), [("success", "delivered"), ("failed:user block", "failed")]
)
def test_template_send_job_finish_records_delivery(wechat, status, expected):
    follower = Follower.objects.create(openid="o-tpl", subscribed=True)
    sent = Message.objects.create(
        follower=follower,
        direction="out",
        msg_type="template",
        channel="template",
        delivery_status="sent",
        wechat_msg_id="200163836",
    )
    response = wechat.event("o-tpl", "TEMPLATESENDJOBFINISH", MsgID="200163836", Status=status)
    assert response.content == b"success"
    sent.refresh_from_db()
    assert sent.delivery_status == expected
