"""A store down costs no message: Redis stopped or frozen, PostgreSQL unreachable.

Every delivery answered 200 is stored exactly once afterwards (audit item 4).
"""

import time

import pytest
from django.template.loader import render_to_string

from bot.conversations.buffer import inbound_buffer_drain
from bot.conversations.models import Message
from bot.simulator.envelope import build_delivery, message_fields
from support.buffer import INBOUND_STREAM, stream_pending

from .conftest import database_unreachable

pytestmark = pytest.mark.resilience

POLITE = render_to_string("bot/replies/store_unavailable.txt").strip()


def _deliveries(openid: str, texts: list[str]):
    return [
        build_delivery(message_fields(openid=openid, msg_type="text", Content=text))
        for text in texts
    ]


def _post(client, delivery):
    started = time.monotonic()
    response = client.post(delivery.path, delivery.body, content_type="text/xml")
    return response, time.monotonic() - started


def _stored_once(openid: str, count: int) -> None:
    keys = list(
        Message.objects.filter(direction="in", follower__openid=openid).values_list(
            "dedup_key", flat=True
        )
    )
    assert len(keys) == count
    assert len(set(keys)) == count


@pytest.mark.django_db(transaction=True)
def test_redis_stopped_every_message_answered_and_stored_once(client, own_redis):
    own_redis.stop()
    deliveries = _deliveries("o-redis-down", ["你好", "发票怎么查", "转人工"])
    for delivery in [*deliveries, deliveries[0], deliveries[2]]:  # two WeChat retries
        response, seconds = _post(client, delivery)
        assert response.status_code == 200
        assert seconds < 2.0
    _stored_once("o-redis-down", 3)


@pytest.mark.django_db(transaction=True)
def test_redis_frozen_answers_within_wechats_window(client, own_redis):
    deliveries = _deliveries("o-redis-frozen", ["你好", "发票怎么查", "开票时间"])
    assert _post(client, deliveries[0])[0].status_code == 200  # warm: state in the cache
    with own_redis.frozen():
        for delivery in [*deliveries[1:], deliveries[1]]:
            response, seconds = _post(client, delivery)
            assert response.status_code == 200
            assert seconds < 3.0  # one socket timeout at most, then the breaker
    _stored_once("o-redis-frozen", 3)


@pytest.mark.django_db(transaction=True)
def test_healthz_names_the_cache_when_redis_is_down_or_frozen(client, own_redis):
    assert client.get("/healthz").json()["degraded"] == []
    with own_redis.frozen():
        started = time.monotonic()
        response = client.get("/healthz")
        assert time.monotonic() - started < 2.0
    assert response.status_code == 503
    assert response.json()["degraded"] == ["cache"]
    own_redis.stop()
    started = time.monotonic()
    assert client.get("/healthz").json()["degraded"] == ["cache"]
    assert time.monotonic() - started < 2.0


@pytest.mark.django_db(transaction=True)
def test_database_unreachable_deliveries_buffered_then_stored_once(
    client, own_redis, postgres_only
):
    deliveries = _deliveries("o-pg-down", ["你好", "转人工", "发票怎么查"])
    with database_unreachable():
        for delivery in [*deliveries, deliveries[1]]:  # and one WeChat retry
            response, seconds = _post(client, delivery)
            assert response.status_code == 200
            assert POLITE in response.content.decode()
            assert seconds < 3.0
        started = time.monotonic()
        health = client.get("/healthz")
        assert time.monotonic() - started < 3.0
        assert health.status_code == 503
        assert health.json()["degraded"] == ["database"]
        assert health.json()["inbound_buffered"] >= 3
    assert Message.objects.filter(follower__openid="o-pg-down").count() == 0
    assert inbound_buffer_drain() == 3
    assert inbound_buffer_drain() == 0  # idempotent: nothing left, nothing twice
    assert stream_pending(INBOUND_STREAM) == 0
    _stored_once("o-pg-down", 3)
    texts = set(Message.objects.filter(follower__openid="o-pg-down").values_list("text", flat=True))
    assert texts == {"你好", "转人工", "发票怎么查"}


@pytest.mark.django_db(transaction=True)
def test_the_next_request_drains_what_its_process_buffered(client, own_redis, postgres_only):
    first, later = _deliveries("o-pg-next", ["转人工", "你好"])
    with database_unreachable():
        assert _post(client, first)[0].status_code == 200
    assert _post(client, later)[0].status_code == 200
    _stored_once("o-pg-next", 2)
    assert stream_pending(INBOUND_STREAM) == 0


@pytest.mark.django_db(transaction=True)
def test_drain_twice_of_the_same_delivery_stores_it_once(own_redis, postgres_only, client):
    delivery = _deliveries("o-pg-twice", ["转人工"])[0]
    with database_unreachable():
        _post(client, delivery)
    from support.buffer import stream_put, stream_read

    ((_, payload),) = stream_read(INBOUND_STREAM, limit=10)
    stream_put(INBOUND_STREAM, payload)  # a second copy (two processes buffered it)
    assert inbound_buffer_drain() == 1
    _stored_once("o-pg-twice", 1)


@pytest.mark.django_db(transaction=True)
def test_database_and_redis_both_down_is_an_error_wechat_retries(client, own_redis, postgres_only):
    """Nothing can keep the delivery: no 200 (a 200 would lose the message)."""
    own_redis.stop()
    client.raise_request_exception = False
    with database_unreachable():
        response, seconds = _post(client, _deliveries("o-all-down", ["你好"])[0])
    assert response.status_code == 500
    assert seconds < 4.5
