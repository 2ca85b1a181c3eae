"""A second, long-running process picks up a KB edit made by this one (Redis + PostgreSQL)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django.conf import settings

from bot.nlu.models import Intent
from bot.nlu.seed import seed_apply
from bot.nlu.services import keyword_create

ROOT = Path(__file__).resolve().parents[3]
TEXT = "我的发票被税务局锁定了"

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def other_process():
    """`manage.py nlu_classify` kept running: one line in, one JSON line out."""
    db = settings.DATABASES["default"]
    if settings.EMBEDDED or db["ENGINE"].endswith("sqlite3"):
        pytest.skip("needs REDIS_URL and DATABASE_URL (PostgreSQL): CI's integration run")
    # A transactional test before this one may have flushed the seeded KB.
    if not Intent.objects.exists():
        seed_apply(django_apps)
    env = dict(
        os.environ,
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        DJANGO_SETTINGS_MODULE="support.settings_test",
    )
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "nlu_classify"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )

    def ask(text: str) -> dict:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(text.encode("utf-8") + b"\n")
        proc.stdin.flush()
        return json.loads(proc.stdout.readline())

    yield ask
    proc.stdin.close()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_edit_here_is_used_there_without_a_restart(other_process):
    before = other_process(TEXT)
    assert before["intent"] != "void_red_status"
    keyword_create(word="锁定", weight=2.0, intent_id="void_red_status")  # commits
    after = other_process(TEXT)
    assert after["intent"] == "void_red_status"
    assert after["candidates"][0]["intent"] == "void_red_status"
