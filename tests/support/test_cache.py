"""The Redis cache backend that reuses its clients."""

import os

import pytest

from support.cache import ReusingRedisCache


def test_one_client_per_pool_is_reused():
    cache = ReusingRedisCache("redis://127.0.0.1:6379/15", {})
    client = cache._cache.get_client()
    assert cache._cache.get_client(write=True) is client  # one server: one pool
    assert cache._cache.get_client() is client


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL (CI's second run)")
def test_reused_client_reads_and_writes_redis():
    cache = ReusingRedisCache(os.environ["REDIS_URL"], {"KEY_PREFIX": "test-reuse"})
    cache.set("k", {"reply": "您好"}, timeout=5)
    assert cache.get("k") == {"reply": "您好"}
    assert cache.add("k", "other") is False
    cache.delete("k")
    assert cache.get("k") is None
