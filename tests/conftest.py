"""Shared fixtures: the local fake WeChat API, signed deliveries through the URL."""

from pathlib import Path

import pytest
from django.core.cache import cache

from bot.channels.wechat.fake_api import FakeWeChatApi
from bot.simulator.envelope import build_delivery, message_fields, open_reply


@pytest.fixture(autouse=True)
def _clear_cache():
    """Each test starts with an empty shared cache (dedup claims, tokens, KB versions)."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _tasks_in_process(request):
    """Run Celery tasks in process, except in tests that use the real worker.

    With REDIS_URL set, the app would queue tasks on the broker; unit tests want
    the work done by the time the on-commit callbacks return, integration tests
    (those asking for `celery_worker_process`) want the real queue.
    """
    from support.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = "celery_worker_process" not in request.fixturenames
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def fake_wechat(settings):
    """A local WeChat API server; outbound calls go there over real HTTP."""
    with FakeWeChatApi() as api:
        settings.WECHAT_API_BASE_URL = api.base_url
        settings.WECHAT_APP_SECRET = "test-secret"
        yield api


class WeChatSender:
    """Send messages to /wechat/ the way WeChat does and read the replies."""

    def __init__(self, client):
        self.client = client

    def post(self, fields, *, mode="plain", **kwargs):
        delivery = build_delivery(fields, mode=mode, **kwargs)
        return self.client.post(delivery.path, delivery.body, content_type="text/xml")

    def text(self, openid, content, *, mode="plain", **extra):
        fields = message_fields(openid=openid, msg_type="text", Content=content, **extra)
        return self.post(fields, mode=mode)

    def event(self, openid, event, key="", *, mode="plain", **extra):
        fields = message_fields(openid=openid, msg_type="event", Event=event, EventKey=key, **extra)
        return self.post(fields, mode=mode)

    @staticmethod
    def reply(response):
        return open_reply(response.content.decode())


@pytest.fixture
def wechat(client):
    return WeChatSender(client)


@pytest.fixture(scope="session")
def fake_wechat_server():
    """One fake WeChat API for the whole session, shared with worker processes."""
    with FakeWeChatApi() as api:
        yield api


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, fake_wechat_server):
    """A real `celery -A support worker` process on the test database and Redis broker."""
    import os
    import subprocess
    import sys
    import time

    from django.conf import settings

    from support.celery import app

    if settings.CELERY_TASK_ALWAYS_EAGER or settings.DATABASES["default"]["ENGINE"].endswith(
        "sqlite3"
    ):
        pytest.skip("needs REDIS_URL and DATABASE_URL (PostgreSQL): CI's integration run")
    db = settings.DATABASES["default"]
    env = dict(
        os.environ,
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        WECHAT_API_BASE_URL=fake_wechat_server.base_url,
        WECHAT_APP_SECRET="test-secret",
        DJANGO_SETTINGS_MODULE=settings.SETTINGS_MODULE,
    )
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "support",
            "worker",
            "-P",
            "prefork",
            "-c",
            "2",
            "--without-gossip",
            "--without-mingle",
            "-l",
            "warning",
            "-n",
            f"test-{os.getpid()}@%h",
        ],
        env=env,
    )
    deadline = time.monotonic() + 60
    while not app.control.ping(timeout=0.5):
        if worker.poll() is not None or time.monotonic() > deadline:
            worker.kill()
            pytest.fail("celery worker did not start")
    yield worker
    worker.terminate()
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()


@pytest.fixture
def seeded_data(db):
    """What the data migrations put in a new database, back after a transactional flush.

    Transactional tests (live server, browser) start from a flushed database: the seeded
    knowledge base, queues, roles and their permissions are put back (idempotently).
    """
    import importlib

    from django.apps import apps

    from bot.nlu.loader import forget_index
    from bot.nlu.seed import seed_apply
    from bot.nlu.services import kb_version_bump

    importlib.import_module("tickets.migrations.0002_seed").seed(apps, None)
    seed_apply(apps)
    for name in ("0001_roles", "0002_role_permissions"):
        importlib.import_module(f"support.migrations.{name}").forwards(apps, None)
    forget_index()
    kb_version_bump()


@pytest.fixture(autouse=True)
def _fresh_content_type_cache():
    """A flushed database (transactional tests) leaves content-type ids cached that no
    longer exist; the audit trail would insert with them."""
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.clear_cache()
    yield


# -- headless Chromium (browser tests) -------------------------------------------------
CHROMIUM = Path("/usr/bin/chromium")  # Debian's package; .ci/run installs it
BROWSER_TIMEOUT_MS = 20_000
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs chromium at /usr/bin/chromium"
)


@pytest.fixture
def chromium_page(monkeypatch):
    """A factory of pages of one headless Chromium, driven through Playwright.

    `chromium_page(**context_options)` opens a page in a new context (zh-CN and
    Asia/Shanghai unless given; `init_script=` runs before any of the page's scripts)
    with a 20 s default timeout. A JavaScript error on any page fails the test.
    """
    sync_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API keeps an event loop running in this thread; the test's own
    # database reads are still plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    errors: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )

        def new_page(*, init_script: str = "", **options):
            context = browser.new_context(
                **{"locale": "zh-CN", "timezone_id": "Asia/Shanghai", **options}
            )
            if init_script:
                context.add_init_script(init_script)
            page = context.new_page()
            page.set_default_timeout(BROWSER_TIMEOUT_MS)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            return page

        yield new_page
        browser.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"
