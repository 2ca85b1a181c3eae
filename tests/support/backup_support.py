"""Helpers of the backup tests: a database filled through the URLs, a fresh target, manage.py."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from knox.models import AuthToken

ROOT = Path(__file__).resolve().parents[2]

LEDGER = {
    "invoice_code": "011002400211",
    "invoice_number": "12345678",
    "issue_date": "2024-06-01",
    "amount": "1000.00",
    "total": "1060.00",
    "check_code": "12345678901234567890",
    "seller_name": "北京甲商贸",
    "status": "valid",
    "uploaded_at": "2024-06-02T09:00:00+08:00",
}


def fill_through_the_urls(wechat, client) -> None:
    """Followers, messages and a ticket through /wechat/; ledger and a check through /api/."""
    from tickets.models import Queue

    if not Queue.objects.exists():  # an earlier transactional test flushed the seeded ones
        Queue.objects.create(name="发票查验", slug="invoice-check", is_default=True)
    for i in range(4):
        openid = f"o-drill-{i}"
        assert wechat.event(openid, "subscribe").status_code == 200
        assert wechat.text(openid, "发票查不到怎么办").status_code == 200
        assert wechat.text(openid, "谢谢").status_code == 200
    assert wechat.text("o-drill-1", "转人工").status_code == 200
    admin = get_user_model().objects.create_superuser("drill-admin", password="pw-drill-123")
    api = client.__class__()
    api.defaults["HTTP_AUTHORIZATION"] = f"Token {AuthToken.objects.create(user=admin)[1]}"
    created = api.post("/api/invoices/ledger/", LEDGER, content_type="application/json")
    assert created.status_code == 201, created.content
    verify = {
        "invoice_code": LEDGER["invoice_code"],
        "invoice_number": LEDGER["invoice_number"],
        "issue_date": LEDGER["issue_date"],
        "check_code": "567890",
    }
    checked = api.post("/api/invoices/verify/", verify, content_type="application/json")
    assert checked.status_code == 200, checked.content


def media_fill(root: Path) -> dict[str, bytes]:
    files = {
        "photos/2024/invoice-1.jpg": b"\xff\xd8\xff" + os.urandom(2048),
        "imports/ledger.csv": "发票代码,发票号码\n011002400211,12345678\n".encode(),
    }
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return files


def _unmigrated() -> list[str]:
    """`-e` arguments for models without a table (an app whose migrations are not in yet)."""
    from django.apps import apps

    tables = set(connection.introspection.table_names())
    return [
        f"-e={model._meta.label}"
        for model in apps.get_models()
        if model._meta.managed and model._meta.db_table not in tables
    ]


def dumpdata_here() -> list:
    """Every row of the test database, through Django's serializer (the comparison's yardstick)."""
    out = Path(settings.BASE_DIR) / f".dump-{uuid.uuid4().hex}.json"
    try:
        call_command("dumpdata", "--output", str(out), *_unmigrated(), verbosity=0)
        return json.loads(out.read_text())
    finally:
        out.unlink(missing_ok=True)


def postgres_url(name: str) -> str:
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{s['USER']}{password}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{name}"


def _postgres_admin(sql: str) -> None:
    import psycopg

    s = connection.settings_dict
    with psycopg.connect(
        host=s["HOST"] or "127.0.0.1",
        port=s["PORT"] or 5432,
        user=s["USER"],
        password=s.get("PASSWORD") or None,
        dbname="postgres",
        autocommit=True,
    ) as conn:
        conn.execute(sql)


@contextmanager
def fresh_database(tmp_path: Path):
    """A new, empty database of the vendor under test: its DATABASE_URL."""
    if connection.vendor == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    name = f"fapiao_h8_restore_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    _postgres_admin(f'CREATE DATABASE "{name}"')
    try:
        yield postgres_url(name)
    finally:
        _postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def target_sql(url: str, sql: str) -> list:
    """Run SQL on the target database directly (outside Django), return the rows."""
    if url.startswith("sqlite:///"):
        conn = sqlite3.connect(url[len("sqlite:///") :])
        try:
            rows = conn.execute(sql).fetchall()
            conn.commit()
            return rows
        finally:
            conn.close()
    import psycopg

    with psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        cursor = conn.execute(sql)
        return cursor.fetchall() if cursor.description else []


def manage(*args: str, database_url: str, media_root: Path, input_text: str | None = None):
    """Run manage.py in a process of its own, on another database (as an operator would)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("REDIS_URL", "CELERY_BROKER_URL", "PROMETHEUS_MULTIPROC_DIR")
    }
    env.update(
        DATABASE_URL=database_url,
        DJANGO_MEDIA_ROOT=str(media_root),
        DJANGO_SETTINGS_MODULE=os.environ.get("DJANGO_SETTINGS_MODULE", "support.settings_test"),
    )
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        input=input_text,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def dumpdata_there(database_url: str, media_root: Path, tmp_path: Path) -> list:
    out = tmp_path / f"there-{uuid.uuid4().hex}.json"
    done = manage(
        "dumpdata",
        "--output",
        str(out),
        *_unmigrated(),
        database_url=database_url,
        media_root=media_root,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(out.read_text())
