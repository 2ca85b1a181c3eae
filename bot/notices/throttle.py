"""A token bucket for the account's WeChat API limits, shared by every worker process.

With Redis the bucket is one hash updated by a Lua script (atomic, Redis's own
clock), so all workers on all machines draw from the same budget. In embedded
mode everything runs in one process and a process-local bucket does.
"""

import functools
import threading
import time

import redis
from django.conf import settings

_BUCKET_KEY = "fapiao:notices:bucket"

# KEYS[1] bucket; ARGV rate/s, capacity, tokens wanted. Returns 0 (granted) or ms to wait.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate = tonumber(ARGV[1])
local cap = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1]) or cap
local ts = tonumber(b[2]) or now
tokens = math.min(cap, tokens + math.max(0, now - ts) * rate)
local wait = 0
if tokens >= want then
  tokens = tokens - want
else
  wait = math.ceil((want - tokens) / rate * 1000)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], 60000)
return wait
"""

# Empty the bucket for ARGV[2] seconds: WeChat said 45009 (frequency limit).
_DRAIN = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('HSET', KEYS[1], 'tokens', tostring(-tonumber(ARGV[1]) * tonumber(ARGV[2])),
  'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], 60000)
return 0
"""


@functools.lru_cache(maxsize=4)
def _redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


class _LocalBucket:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.tokens: float | None = None
        self.ts = time.monotonic()

    def take(self, rate: float, cap: float, want: int) -> float:
        with self.lock:
            now = time.monotonic()
            tokens = cap if self.tokens is None else self.tokens
            tokens = min(cap, tokens + max(0.0, now - self.ts) * rate)
            self.ts = now
            if tokens >= want:
                self.tokens = tokens - want
                return 0.0
            self.tokens = tokens
            return (want - tokens) / rate

    def drain(self, rate: float, seconds: float) -> None:
        with self.lock:
            self.tokens = -rate * seconds
            self.ts = time.monotonic()


_local = _LocalBucket()


def _limits() -> tuple[float, float]:
    rate = float(settings.NOTICES_RATE_PER_SECOND)
    return rate, max(rate * settings.NOTICES_BURST_SECONDS, 1.0)


def throttle_wait_seconds(want: int) -> float:
    """Take `want` tokens if available (0.0), else how long until they would be."""
    rate, cap = _limits()
    want = max(1, min(want, int(cap)))
    if settings.REDIS_URL:
        wait_ms = _redis(settings.REDIS_URL).eval(_TAKE, 1, _BUCKET_KEY, rate, cap, want)
        return int(wait_ms) / 1000
    return _local.take(rate, cap, want)


def throttle_acquire(want: int, *, max_wait: float = 30.0) -> bool:
    """Block until `want` sends fit the shared budget; False if that takes over `max_wait`."""
    deadline = time.monotonic() + max_wait
    while True:
        wait = throttle_wait_seconds(want)
        if wait <= 0:
            return True
        if time.monotonic() + wait > deadline:
            return False
        time.sleep(min(wait, 1.0))


def throttle_back_off(seconds: float) -> None:
    """Stop everyone from sending for `seconds` (WeChat answered 45009)."""
    rate, _cap = _limits()
    if settings.REDIS_URL:
        _redis(settings.REDIS_URL).eval(_DRAIN, 1, _BUCKET_KEY, rate, seconds)
    else:
        _local.drain(rate, seconds)


def throttle_reset() -> None:
    """Forget the bucket (tests, benchmarks)."""
    if settings.REDIS_URL:
        _redis(settings.REDIS_URL).delete(_BUCKET_KEY)
    _local.tokens = None
