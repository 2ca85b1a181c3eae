"""The simulator's JSON API, through the URL, and the round trip through `/wechat/`."""

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from bot.channels.wechat.parsing import xml_to_fields
from bot.conversations.models import Follower, Message

pytestmark = pytest.mark.django_db

OPENID = "sim-views01"


def post_json(client, url, data):
    return client.post(url, json.dumps(data), content_type="application/json")


def envelope(client, **data):
    return post_json(client, "/simulator/api/envelope", {"openid": OPENID, **data})


def round_trip(client, response):
    """POST the signed envelope to the webhook and open the reply like the page does."""
    signed = response.json()
    webhook = client.post(signed["url"], signed["body"], content_type="text/xml")
    assert webhook.status_code == 200
    opened = client.post("/simulator/api/open", webhook.content, content_type="text/plain")
    assert opened.status_code == 200
    return opened.json()["reply"]


def test_page_renders_menu_from_file_and_sets_csrf_cookie(client):
    response = client.get("/simulator/")

    assert response.status_code == 200
    assert "csrftoken" in response.cookies
    html = response.content.decode()
    for key in ("VERIFY_INVOICE", "NOT_FOUND_HELP", "DIGITAL_HELP", "MY_TICKETS", "HUMAN_AGENT"):
        assert key in html
    assert 'id="follower-new"' in html


def test_page_without_menu_file_falls_back_to_default_menu(client, settings, tmp_path):
    settings.WECHAT_MENU_FILE = str(tmp_path / "missing.json")

    response = client.get("/simulator/")

    assert response.status_code == 200
    assert response.context["menu_buttons"] is None
    assert "DEFAULT_MENU" in response.content.decode()


def test_text_envelope_is_signed_plain_xml_and_gets_a_reply(client):
    response = envelope(client, kind="text", text="发票查不到怎么办")

    assert response.status_code == 200
    signed = response.json()
    query = parse_qs(urlsplit(signed["url"]).query)
    assert urlsplit(signed["url"]).path == "/wechat/"
    assert {"signature", "timestamp", "nonce", "openid"} <= query.keys()
    assert "encrypt_type" not in query
    fields = xml_to_fields(signed["body"])
    assert fields["MsgType"] == "text"
    assert fields["FromUserName"] == OPENID
    assert fields["Content"] == "发票查不到怎么办"
    assert fields["MsgId"]

    reply = round_trip(client, response)

    assert reply["MsgType"] == "text"
    assert reply["ToUserName"] == OPENID
    stored = Message.objects.get(direction=Message.Direction.IN)
    assert (stored.msg_type, stored.text) == ("text", "发票查不到怎么办")
    assert Message.objects.get(direction=Message.Direction.OUT).text == reply["Content"]


@pytest.mark.parametrize("recognition", ["数电票怎么查", ""])
def test_voice_envelope_carries_recognition(client, recognition):
    response = envelope(client, kind="voice", recognition=recognition)

    fields = xml_to_fields(response.json()["body"])
    assert fields["MsgType"] == "voice"
    assert fields["Recognition"] == recognition
    assert fields["MediaId"].startswith("sim-voice-")
    assert round_trip(client, response)["Content"]
    assert Message.objects.get(direction=Message.Direction.IN).recognition == recognition


def test_image_envelope_carries_pic_url_and_media_id(client):
    response = envelope(
        client, kind="image", pic_url="http://testserver/simulator/media/sim-1", media_id="sim-1"
    )

    fields = xml_to_fields(response.json()["body"])
    assert fields["MsgType"] == "image"
    assert fields["PicUrl"] == "http://testserver/simulator/media/sim-1"
    assert fields["MediaId"] == "sim-1"
    assert round_trip(client, response)["MsgType"] == "text"
    stored = Message.objects.get(direction=Message.Direction.IN)
    assert (stored.msg_type, stored.media_id) == ("image", "sim-1")


@pytest.mark.parametrize(
    ("event", "key"),
    [
        ("subscribe", ""),
        ("unsubscribe", ""),
        ("CLICK", "HELP"),
        ("VIEW", "https://inv-veri.chinatax.gov.cn/"),
        ("LOCATION", ""),
        ("SCAN", "scene-1"),
    ],
)
def test_event_envelope(client, event, key):
    response = envelope(client, kind="event", event=event, event_key=key)

    assert response.status_code == 200
    fields = xml_to_fields(response.json()["body"])
    assert (fields["MsgType"], fields["Event"], fields["EventKey"]) == ("event", event, key)
    assert "MsgId" not in fields
    round_trip(client, response)
    assert Message.objects.get(direction=Message.Direction.IN).event == event


def test_subscribe_reply_and_unsubscribe_success(client):
    welcome = round_trip(client, envelope(client, kind="event", event="subscribe"))
    assert welcome["Content"]
    assert Follower.objects.get(openid=OPENID).subscribed

    assert round_trip(client, envelope(client, kind="event", event="unsubscribe")) is None
    assert not Follower.objects.get(openid=OPENID).subscribed


def test_encrypted_envelope_round_trip(client):
    response = envelope(client, kind="text", text="你好", encrypt=True)

    signed = response.json()
    query = parse_qs(urlsplit(signed["url"]).query)
    assert query["encrypt_type"] == ["aes"]
    assert "msg_signature" in query
    outer = xml_to_fields(signed["body"])
    assert set(outer) == {"ToUserName", "Encrypt"}
    assert "你好" not in signed["body"]

    reply = round_trip(client, response)

    assert reply["MsgType"] == "text"
    assert reply["Content"] == Message.objects.get(direction=Message.Direction.OUT).text


def test_encrypt_without_aes_key_falls_back_to_plain(client, settings):
    settings.WECHAT_ENCODING_AES_KEY = ""

    response = envelope(client, kind="text", text="你好", encrypt=True)

    assert "encrypt_type" not in response.json()["url"]
    assert xml_to_fields(response.json()["body"])["Content"] == "你好"


def test_envelope_bad_json(client):
    response = client.post("/simulator/api/envelope", "{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {"error": "invalid JSON"}


@pytest.mark.parametrize("openid", ["", "oAbc123", "sim", "sim-" + "x" * 61, None])
def test_envelope_rejects_openids_outside_the_simulator(client, openid):
    response = post_json(client, "/simulator/api/envelope", {"openid": openid, "kind": "text"})

    assert response.status_code == 400
    assert "sim-" in response.json()["error"]
    assert not Follower.objects.exists()


@pytest.mark.parametrize(
    "data",
    [{"kind": "video"}, {"kind": "event", "event": "TEMPLATESENDJOBFINISH"}, {"kind": "event"}, {}],
)
def test_envelope_rejects_unknown_kinds_and_events(client, data):
    response = envelope(client, **data)

    assert response.status_code == 400
    assert response.json() == {"error": "unknown kind"}


def test_envelope_requires_post(client):
    assert client.get("/simulator/api/envelope").status_code == 405


def test_api_posts_need_the_csrf_token_the_page_sets():
    browser = Client(enforce_csrf_checks=True)
    payload = json.dumps({"openid": OPENID, "kind": "text", "text": "hi"})

    refused = browser.post("/simulator/api/envelope", payload, content_type="application/json")
    token = browser.get("/simulator/").cookies["csrftoken"].value
    accepted = browser.post(
        "/simulator/api/envelope", payload, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )

    assert refused.status_code == 403
    assert accepted.status_code == 200


def test_open_success_is_null_and_garbage_is_400(client):
    success = client.post("/simulator/api/open", "success", content_type="text/plain")
    garbage = client.post("/simulator/api/open", "<not-xml", content_type="text/plain")

    assert success.json() == {"reply": None}
    assert garbage.status_code == 400
    assert garbage.json()["error"].startswith("unreadable reply")


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    return tmp_path


def test_upload_stores_image_and_serves_it(client, media_root):
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
    response = client.post(
        "/simulator/api/upload", {"image": SimpleUploadedFile("p.png", png, "image/png")}
    )

    assert response.status_code == 200
    data = response.json()
    assert data["media_id"].startswith("sim-")
    assert data["pic_url"] == f"http://testserver/simulator/media/{data['media_id']}"
    assert (media_root / "simulator" / data["media_id"]).read_bytes() == png
    served = client.get(urlsplit(data["pic_url"]).path)
    assert served.status_code == 200
    assert b"".join(served.streaming_content) == png


def test_upload_without_image_is_400(client, media_root):
    assert client.post("/simulator/api/upload", {}).status_code == 400


def test_upload_over_20_mb_is_413_and_not_stored(client, media_root):
    big = SimpleUploadedFile("big.jpg", b"\0" * (20 * 1024 * 1024 + 1), "image/jpeg")

    response = client.post("/simulator/api/upload", {"image": big})

    assert response.status_code == 413
    assert not list(media_root.rglob("sim-*"))


@pytest.mark.parametrize("media_id", ["other-1", "sim-missing", "..", "sim-..%2Fx"])
def test_media_refuses_unknown_ids(client, media_root, media_id):
    assert client.get(f"/simulator/media/{media_id}").status_code == 404


def _out(follower, channel, text, status=Message.Delivery.SIMULATED):
    return Message.objects.create(
        follower=follower,
        direction=Message.Direction.OUT,
        msg_type=Message.Type.TEMPLATE if channel == Message.Channel.TEMPLATE else "text",
        text=text,
        channel=channel,
        delivery_status=status,
    )


def test_pushed_lists_only_pushes_oldest_first_after_id(client, django_assert_num_queries):
    follower = Follower.objects.create(openid=OPENID, subscribed=True)
    other = Follower.objects.create(openid="sim-other", subscribed=True)
    first = _out(follower, Message.Channel.CUSTOMER_SERVICE, "工单已受理")
    _out(follower, Message.Channel.PASSIVE, "被动回复")
    _out(other, Message.Channel.CUSTOMER_SERVICE, "别人的消息")
    second = _out(follower, Message.Channel.TEMPLATE, "工单状态更新", Message.Delivery.PENDING)
    third = _out(follower, Message.Channel.CUSTOMER_SERVICE, "已处理", Message.Delivery.FAILED)

    with django_assert_num_queries(2):
        everything = client.get("/simulator/api/pushed", {"openid": OPENID, "after": 0}).json()
    later = client.get("/simulator/api/pushed", {"openid": OPENID, "after": first.id}).json()

    assert [m["id"] for m in everything["messages"]] == [first.id, second.id, third.id]
    assert everything["messages"][1] == {
        "id": second.id,
        "channel": "template",
        "channel_label": "模板消息",
        "text": "工单状态更新",
        "delivery_status": "pending",
        "created_at": everything["messages"][1]["created_at"],
    }
    assert everything["messages"][0]["channel_label"] == "客服消息"
    assert [m["id"] for m in later["messages"]] == [second.id, third.id]


def test_pushed_unknown_follower_and_bad_after(client):
    follower = Follower.objects.create(openid=OPENID)
    pushed = _out(follower, Message.Channel.CUSTOMER_SERVICE, "你好")

    unknown = client.get("/simulator/api/pushed", {"openid": "sim-nobody"}).json()
    bad_after = client.get("/simulator/api/pushed", {"openid": OPENID, "after": "x"}).json()

    assert unknown == {"messages": []}
    assert [m["id"] for m in bad_after["messages"]] == [pushed.id]


def test_followers_lists_simulator_followers_newest_first(client):
    Follower.objects.create(openid="oRealUser")
    older = Follower.objects.create(openid="sim-older", subscribed=False)
    newer = Follower.objects.create(openid="sim-newer", subscribed=True)

    response = client.get("/simulator/api/followers")

    assert response.json() == {
        "followers": [
            {"openid": newer.openid, "subscribed": True},
            {"openid": older.openid, "subscribed": False},
        ]
    }


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/simulator/"),
        ("get", "/simulator/api/followers"),
        ("post", "/simulator/api/envelope"),
        ("post", "/simulator/api/open"),
        ("get", "/simulator/api/pushed?openid=sim-x"),
        ("post", "/simulator/api/upload"),
        ("get", "/simulator/media/sim-x"),
    ],
)
def test_disabled_simulator_is_404(client, settings, method, url):
    settings.SIMULATOR_ENABLED = False

    response = getattr(client, method)(url)

    assert response.status_code == 404


def test_the_simulator_is_never_reachable_with_debug_off(client, settings):
    settings.DEBUG = False
    settings.SIMULATOR_ENABLED = True  # even when switched on explicitly
    assert client.get("/simulator/").status_code == 404
    assert envelope(client, kind="text", text="你好").status_code == 404


def test_it_signs_and_reads_only_its_own_followers(client, wechat):
    wechat.text("oREAL-follower", "我的真实对话")
    refused = post_json(
        client, "/simulator/api/envelope", {"openid": "oREAL-follower", "kind": "text", "text": "x"}
    )
    assert refused.status_code == 400
    for url in ("/simulator/api/history", "/simulator/api/pushed"):
        assert client.get(f"{url}?openid=oREAL-follower").json() == {"messages": []}


def test_switching_to_an_existing_follower_shows_its_conversation(client):
    round_trip(client, envelope(client, kind="text", text="你好"))
    round_trip(client, envelope(client, kind="text", text="怎么查验发票"))
    rows = client.get(f"/simulator/api/history?openid={OPENID}").json()["messages"]
    said = [m["text"] for m in rows if m["direction"] == "in"]
    assert said == ["你好", "怎么查验发票"]
    assert [m["direction"] for m in rows].count("out") >= 2  # the bot's replies too
    assert [m["id"] for m in rows] == sorted(m["id"] for m in rows)
