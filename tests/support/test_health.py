"""/healthz: quick in every case, says which store is degraded."""

import pytest

from support.cache import ReusingRedisCache

pytestmark = pytest.mark.django_db


def test_healthz_reports_every_store_and_nothing_degraded(client):
    body = client.get("/healthz").json()
    assert body["database"] == "ok"
    assert body["cache"] == "ok"
    assert body["degraded"] == []
    assert body["inbound_buffered"] == 0


def test_healthz_names_an_unreachable_cache(client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "support.cache.ReusingRedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
            "OPTIONS": {"socket_connect_timeout": 0.3, "socket_timeout": 0.3},
        }
    }
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["degraded"] == ["cache"]


def test_an_unreachable_redis_degrades_to_a_cold_cache_quickly(settings):
    import time

    from django.core.cache import caches

    settings.CACHES = {
        "default": {
            "BACKEND": "support.cache.ReusingRedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.3, "socket_timeout": 0.3},
        }
    }
    cache = caches["default"]
    assert isinstance(cache, ReusingRedisCache)
    started = time.monotonic()
    assert cache.get("k", "miss") == "miss"
    assert cache.add("k", 1) is True  # a cold cache: the database's constraints decide
    assert cache.get_many(["a", "b"]) == {}
    assert cache.breaker.is_open()
    assert time.monotonic() - started < 1.0
