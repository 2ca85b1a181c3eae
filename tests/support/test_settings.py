"""Production rules: no default secret, deploy checks clean, embedded vs. Redis modes."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args, **env):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "WECHAT_"))}
    base.pop("REDIS_URL", None)
    base.update(env, DJANGO_SETTINGS_MODULE="support.settings")
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = _manage("check", DJANGO_DEBUG="0")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_settings_pass_check_deploy():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="x7#Kq9!pL2@vN8$wR4%tY6^uI1&oP3*aS5(dF0)gH-jZ+cX=bM~nQ",
        DJANGO_ALLOWED_HOSTS="support.example.com",
        WECHAT_TOKEN="prod-token",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_embedded_default_uses_sqlite_locmem_and_eager_tasks():
    code = (
        "import django;django.setup();from django.conf import settings as s;"
        "print(s.DATABASES['default']['ENGINE'], s.CACHES['default']['BACKEND'],"
        " s.CELERY_TASK_ALWAYS_EAGER)"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(DJANGO_DEBUG="1", DJANGO_SETTINGS_MODULE="support.settings")
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == [
        "django.db.backends.sqlite3",
        "django.core.cache.backends.locmem.LocMemCache",
        "True",
    ]


def test_redis_url_switches_cache_and_broker():
    code = (
        "import django;django.setup();from django.conf import settings as s;"
        "print(s.CACHES['default']['BACKEND'], s.CELERY_BROKER_URL, s.CELERY_TASK_ALWAYS_EAGER)"
    )
    env = dict(os.environ, DJANGO_DEBUG="1", REDIS_URL="redis://127.0.0.1:6379/3")
    env.pop("CELERY_BROKER_URL", None)
    env["DJANGO_SETTINGS_MODULE"] = "support.settings"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == [
        "support.cache.ReusingRedisCache",
        "redis://127.0.0.1:6379/3",
        "False",
    ]


def test_every_beat_entry_names_a_registered_task():
    from django.conf import settings

    from support.celery import app

    app.loader.import_default_modules()  # what a worker does at start: autodiscover tasks
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert len(schedule) >= 7
    missing = {name: e["task"] for name, e in schedule.items() if e["task"] not in app.tasks}
    assert missing == {}
