"""Checks behind /healthz: each store answers or is reported degraded, quickly.

Every check is bounded (the database's connect_timeout, the cache's socket timeout,
the broker's timeout), so /healthz answers within a few seconds with a store down or
frozen, and says which one. `degraded` names the stores the webhook is working around:
`cache` (dedup falls back to the database constraint), `database` (deliveries are kept
in the inbound buffer until the drainer stores them).
"""

import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import connection

from support.buffer import INBOUND_STREAM, stream_pending
from support.cache import ReusingRedisCache


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def _cache() -> str:
    if isinstance(cache, ReusingRedisCache):
        cache.ping()  # the server itself, past the outage breaker
    key = f"healthz:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=5)
    ok = cache.get(key) == "1"
    cache.delete(key)
    return "ok" if ok else "unreadable"


def _broker() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "in-process"
    from support.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return "ok"


def _buffered() -> int:
    return stream_pending(INBOUND_STREAM)


def health_report() -> dict:
    report: dict = {}
    for name, check in (("database", _database), ("cache", _cache), ("broker", _broker)):
        try:
            report[name] = check()
        except Exception as exc:  # a health check reports failures, it never raises
            report[name] = f"error: {exc.__class__.__name__}"
        if name == "database" and report[name] != "ok":
            connection.close_if_unusable_or_obsolete()
    try:
        report["inbound_buffered"] = _buffered()
    except Exception as exc:
        report["inbound_buffered"] = f"error: {exc.__class__.__name__}"
    report["degraded"] = [
        name for name in ("database", "cache") if report[name] not in ("ok", "in-process")
    ]
    report["ok"] = all(
        report[name] in ("ok", "in-process") for name in ("database", "cache", "broker")
    )
    return report
