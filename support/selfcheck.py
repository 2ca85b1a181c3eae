"""The non-destructive self-check of a live installation (`manage.py selfcheck`).

Each check returns a `Check`: it works, it fails, or it works with a warning. Nothing
is left behind: the database write is rolled back, the cache key and the broker's
queue are deleted. The checks of the apps (webhook, verification, notices) are in the
command, which may import them (support/management is wiring).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import connection, transaction


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str = ""
    warning: bool = False

    @property
    def mark(self) -> str:
        if not self.ok:
            return "FAIL"
        return "WARN" if self.warning else "ok"


def check_run(name: str, probe: Callable[[], str | Check]) -> Check:
    """Run one probe; an exception is a failure that names its cause, never a crash."""
    started = time.monotonic()
    try:
        outcome = probe()
    except Exception as exc:
        return Check(name, False, f"{exc.__class__.__name__}: {exc}"[:300])
    if isinstance(outcome, Check):
        return outcome
    return Check(name, True, f"{outcome} ({(time.monotonic() - started) * 1000:.0f} ms)")


class _RolledBack(Exception):
    pass


def database_write_read() -> str:
    """Write a row, read it back in the same transaction, roll it back."""
    name = f"selfcheck-{uuid.uuid4().hex}"
    try:
        with transaction.atomic():
            row = Group.objects.create(name=name)
            if Group.objects.get(pk=row.pk).name != name:
                raise RuntimeError("the row read back differs from the row written")
            raise _RolledBack
    except _RolledBack:
        pass
    if Group.objects.filter(name=name).exists():
        raise RuntimeError("the probe row is still there after the rollback")
    return f"{connection.vendor} {connection.settings_dict['NAME']}: write, read, rollback"


def cache_round_trip() -> str:
    key = f"selfcheck:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=30)
    try:
        if cache.get(key) != "1":
            raise RuntimeError("a value set in the cache could not be read back")
    finally:
        cache.delete(key)
    backend = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
    return f"{backend}: set, get, delete"


def broker_round_trip() -> str | Check:
    """Publish one message on a private queue of the broker and read it back."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return Check("broker", True, "embedded mode: tasks run in process", warning=True)
    from support.celery import app

    name = f"selfcheck.{uuid.uuid4().hex}"
    body = {"probe": name}
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=3)
        queue = conn.SimpleQueue(name, queue_opts={"auto_delete": True, "durable": False})
        try:
            queue.put(body)
            message = queue.get(block=True, timeout=5)
            message.ack()
            if message.payload != body:
                raise RuntimeError("the message read back differs from the one published")
        finally:
            queue.queue.delete()
            queue.close()
    return f"{conn.transport_cls} broker: publish, consume, delete"


def workers_ping() -> str | Check:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return Check("workers", True, "embedded mode: no workers needed", warning=True)
    from support.celery import app

    replies = app.control.ping(timeout=2.0)
    if not replies:
        raise RuntimeError("no Celery worker answered a ping within 2 s: tasks will not run")
    return f"{len(replies)} worker(s) answered: " + ", ".join(
        sorted(name for reply in replies for name in reply)
    )


def support_checks() -> list[tuple[str, Callable[[], str | Check]]]:
    return [
        ("database", database_write_read),
        ("cache", cache_round_trip),
        ("broker", broker_round_trip),
        ("workers", workers_ping),
    ]
