"""The webhook is served ahead of the middleware it does not use (its middleware.py)."""

import pytest

from bot.simulator.envelope import message_fields


@pytest.mark.django_db
def test_the_webhook_skips_the_inner_middleware(wechat, client):
    response = wechat.post(message_fields(openid="o-mw", msg_type="text", Content="你好"))
    assert response.status_code == 200 and b"<Content>" in response.content
    # XFrameOptionsMiddleware (last in the chain) did not run for the webhook ...
    assert "X-Frame-Options" not in response.headers
    # ... and still does for every other page.
    assert client.get("/healthz").headers.get("X-Frame-Options") == "DENY"


@pytest.mark.django_db
def test_the_webhook_answers_verification_and_refusals_as_before(client, settings):
    assert client.get("/wechat/").status_code == 403  # no signature
    assert client.put("/wechat/").status_code == 405


def test_a_host_not_allowed_is_refused_on_the_webhook_too(client, settings):
    settings.ALLOWED_HOSTS = ["fapiao.example.com"]
    response = client.post("/wechat/", b"<xml/>", content_type="text/xml", HTTP_HOST="evil.test")
    assert response.status_code == 400


@pytest.mark.django_db
def test_other_paths_keep_the_whole_chain(client):
    # APPEND_SLASH (CommonMiddleware) still redirects the webhook's path without its slash.
    assert client.get("/wechat").status_code == 301
    page = client.get("/admin/login/")
    assert page.status_code == 200 and "csrftoken" in page.cookies
