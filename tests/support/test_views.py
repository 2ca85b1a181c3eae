"""/healthz and the admin through their URLs."""

import pytest
from django.contrib.auth import get_user_model

pytestmark = pytest.mark.django_db


def test_healthz_reports_each_dependency(client, settings):
    response = client.get("/healthz")
    assert response.status_code == 200
    report = response.json()
    assert report["ok"] is True
    assert report["database"] == "ok"
    assert report["cache"] == "ok"
    expected = "in-process" if settings.CELERY_TASK_ALWAYS_EAGER else "ok"
    assert report["broker"] == expected


def test_healthz_is_503_when_the_broker_is_unreachable(client, settings, monkeypatch):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    # Celery prefers the CELERY_BROKER_URL environment variable over its configuration.
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    from support.celery import app

    previous = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:9/0"
    try:
        response = client.get("/healthz")
    finally:
        app.conf.broker_url = previous
    assert response.status_code == 503
    assert response.json()["broker"].startswith("error")


def test_admin_is_in_simplified_chinese_and_shows_conversations(client, wechat):
    wechat.text("o-admin", "发票显示作废了")
    get_user_model().objects.create_superuser("boss", "b@example.invalid", "pw-123456")
    client.login(username="boss", password="pw-123456")
    changelist = client.get("/admin/conversations/follower/")
    assert "粉丝" in changelist.content.decode()
    from bot.conversations.models import Follower

    follower = Follower.objects.get(openid="o-admin")
    page = client.get(f"/admin/conversations/follower/{follower.pk}/change/").content.decode()
    assert "发票显示作废了" in page
    assert "对话记录" in page


def test_the_favicon_is_served_from_static_files_and_linked_by_the_pages(client, admin_client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("/static/support/favicon.svg")
    from django.contrib.staticfiles import finders

    assert finders.find("support/favicon.svg")
    assert 'rel="icon"' in admin_client.get("/admin/").content.decode()
