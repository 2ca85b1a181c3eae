"""Stores that fail: a redis-server of our own (stopped, frozen), an unreachable PostgreSQL.

Never the shared Redis on 6379 or the shared PostgreSQL: each test starts its own
redis-server on a free loopback port and points the cache at it; "PostgreSQL
unreachable" points this test's connection at a closed port.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time

import pytest
from django.db import connection

REDIS_SERVER = shutil.which("redis-server")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class OwnRedis:
    """One redis-server process on 127.0.0.1, started and stopped by the test."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2),
            ):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    @contextlib.contextmanager
    def frozen(self):
        os.kill(self.process.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(self.process.pid, signal.SIGCONT)


@pytest.fixture
def own_redis(settings):
    """Our own redis-server as the shared cache (socket timeouts as in production)."""
    if REDIS_SERVER is None:
        pytest.skip("needs the redis-server binary")
    server = OwnRedis()
    settings.CACHES = {
        "default": {
            "BACKEND": "support.cache.ReusingRedisCache",
            "LOCATION": server.url,
            "KEY_PREFIX": "resilience",
            "OPTIONS": {
                "socket_connect_timeout": 0.3,
                "socket_timeout": 0.3,
                "outage_retry_seconds": 2.0,
            },
        }
    }
    yield server
    server.stop()


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL)")


@contextlib.contextmanager
def database_unreachable():
    """This process's connection points at a closed port until the block ends."""
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict["HOST"] = "127.0.0.1"
    connection.settings_dict["PORT"] = str(_free_port())  # nothing listens there
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(saved)
