"""Checks behind /healthz."""

import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import connection


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def _cache() -> str:
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


def health_report() -> dict:
    report: dict = {}
    for name, check in (("database", _database), ("cache", _cache), ("broker", _broker)):
        try:
            report[name] = check()
        except Exception as exc:  # a health check reports failures, it never raises
            report[name] = f"error: {exc.__class__.__name__}"
    report["ok"] = all(value in ("ok", "in-process") for value in report.values())
    return report
