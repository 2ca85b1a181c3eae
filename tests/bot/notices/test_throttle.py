"""The shared send budget: a token bucket (Redis when configured, else in process)."""

import pytest

from bot.notices import throttle


@pytest.fixture
def ten_per_second(settings):
    settings.NOTICES_RATE_PER_SECOND = 10
    settings.NOTICES_BURST_SECONDS = 1
    throttle.throttle_reset()


def test_bucket_grants_its_capacity_then_asks_to_wait(ten_per_second):
    assert throttle.throttle_wait_seconds(6) == 0
    assert throttle.throttle_wait_seconds(4) == 0
    wait = throttle.throttle_wait_seconds(5)
    assert 0 < wait <= 0.5  # 5 tokens at 10/s, less what refilled meanwhile


def test_back_off_empties_the_bucket_for_everyone(ten_per_second, settings):
    throttle.throttle_back_off(3)
    if settings.REDIS_URL:
        throttle._redis.cache_clear()  # another process: a new connection, same bucket
    assert throttle.throttle_wait_seconds(1) > 2.5
    assert throttle.throttle_acquire(1, max_wait=0.1) is False


def test_acquire_gives_up_instead_of_waiting_too_long(ten_per_second):
    assert throttle.throttle_acquire(10, max_wait=0.1)
    assert throttle.throttle_acquire(10, max_wait=0.1) is False


def test_requests_larger_than_the_bucket_are_capped(ten_per_second):
    assert throttle.throttle_wait_seconds(500) == 0  # counted as one full bucket
    assert throttle.throttle_wait_seconds(1) > 0
