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


# -- several commands in one round trip (support/cache.py) ------------------------------


def test_claim_and_read_on_the_configured_cache():
    """Whatever the backend (local memory here, Redis in CI's second run): same results."""
    from django.core.cache import cache

    from support.cache import add_and_get_many, set_and_delete_many

    cache.set("present", {"n": 1}, timeout=30)
    added, found = add_and_get_many(
        adds=[("claim", "mine", 30), ("present", "overwritten?", 30)],
        keys=["present", "absent", "claim"],
    )
    assert added == [True, False]  # an add never overwrites
    # The reads come after the adds in the same round trip: the claim is seen.
    assert found == {"present": {"n": 1}, "claim": "mine"}
    again, none = add_and_get_many(adds=[("claim", "other", 30)], keys=[])
    assert again == [False] and none == {}
    assert cache.get("claim") == "mine"

    set_and_delete_many(values=[("a", "一", 30), ("b", [2], 30)], deletes=["present"])
    assert cache.get_many(["a", "b", "present"]) == {"a": "一", "b": [2]}


def test_a_zero_timeout_deletes_as_in_django():
    from django.core.cache import cache

    from support.cache import set_and_delete_many

    cache.set("gone", "before", timeout=30)
    set_and_delete_many(values=[("gone", 1, 0), ("kept", 2, 30)], deletes=[])
    assert cache.get("gone") is None and cache.get("kept") == 2


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL (CI's second run)")
def test_one_round_trip_each_on_redis(settings):
    import redis.client
    from django.core.cache import caches

    from support.cache import add_and_get_many, set_and_delete_many

    backend = caches["default"]
    assert isinstance(backend, ReusingRedisCache)
    sent = []
    original = redis.client.Pipeline.execute

    def counting(self, *args, **kwargs):
        sent.append(len(self.command_stack))
        return original(self, *args, **kwargs)

    redis.client.Pipeline.execute = counting
    try:
        add_and_get_many(adds=[("c", 1, 10), ("g", 2, 10)], keys=["x", "y", "z"])
        set_and_delete_many(values=[("x", 1, 10), ("y", 2, 20)], deletes=["z"])
    finally:
        redis.client.Pipeline.execute = original
    assert sent == [3, 3]  # SET NX, SET NX, MGET; SET, SET, DEL
    client = backend._cache.get_client()
    assert 10 < client.ttl(backend.make_and_validate_key("y")) <= 20
    assert 0 < client.ttl(backend.make_and_validate_key("c")) <= 10
