"""Logins lock out, API tokens are hashed and expire, the API throttles per token."""

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.utils import timezone
from knox.models import AuthToken

from tests.security.people import auth, token_for

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"


@pytest.fixture
def lead():
    return get_user_model().objects.create_superuser("sec-lead", "s@example.invalid", "right-pw-1")


def _login(client, password, *, username="sec-lead", addr="10.0.0.1"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=addr)


def test_wrong_passwords_lock_the_account_even_for_the_right_one(client, lead, settings):
    assert settings.AXES_FAILURE_LIMIT == 10
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(client, "wrong").status_code == 200  # the form again, with an error
    assert _login(client, "wrong").status_code == 429  # the limit-th failure locks
    locked = _login(client, "right-pw-1")
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session
    # Another address does not help: the username itself is locked.
    assert _login(client, "right-pw-1", addr="10.9.9.9").status_code == 429


def test_one_address_guessing_many_usernames_is_locked(client, lead, settings):
    for i in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "wrong", username=f"guess-{i}", addr="10.0.0.7")
    assert _login(client, "right-pw-1", addr="10.0.0.7").status_code == 429
    assert _login(client, "right-pw-1", addr="10.0.0.8").status_code == 302  # not the user


def test_lockout_ends_after_the_cool_off(client, lead, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "wrong")
    assert _login(client, "right-pw-1").status_code == 429
    from axes.models import AccessAttempt

    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(hours=1))
    assert _login(client, "right-pw-1").status_code == 302


def test_success_before_the_limit_resets_the_count(client, lead, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login(client, "wrong")
    assert _login(client, "right-pw-1").status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login(client, "wrong")
    assert _login(client, "right-pw-1").status_code == 302


def test_token_is_stored_hashed_and_works(client, lead):
    token = token_for(lead)
    row = AuthToken.objects.get(user=lead)
    assert token not in (row.digest, row.token_key) and len(row.digest) == 128
    assert not AuthToken.objects.filter(digest=token).exists()
    assert client.get("/api/broadcasts/1/", **auth(lead)).status_code == 404  # authenticated
    assert client.get("/api/broadcasts/1/", HTTP_AUTHORIZATION=f"Token {token}").status_code == 404
    assert client.get("/api/broadcasts/1/", HTTP_AUTHORIZATION="Token x" + token).status_code == 401


def test_expired_token_is_refused(client, lead, settings):
    assert settings.REST_KNOX["TOKEN_TTL"] == timedelta(days=30)
    token = token_for(lead)
    AuthToken.objects.update(expiry=timezone.now() - timedelta(seconds=1))
    response = client.get("/api/broadcasts/1/", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 401
    assert not AuthToken.objects.exists()  # knox deletes an expired token when it is used


def test_legacy_plaintext_drf_token_is_refused(client, lead):
    from rest_framework.authtoken.models import Token

    key = Token.objects.create(user=lead).key
    assert client.get("/api/broadcasts/1/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401


def test_token_command_prints_the_token_once(client, lead):
    out, err = StringIO(), StringIO()
    call_command("api_token_create", "sec-lead", "--days", "7", stdout=out, stderr=err)
    token = out.getvalue().strip()
    assert len(token) == 64 and token not in err.getvalue()
    row = AuthToken.objects.get(user=lead)
    assert row.digest != token
    assert timedelta(days=6, hours=23) < row.expiry - timezone.now() <= timedelta(days=7)
    response = client.get("/api/broadcasts/1/", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 404


def test_token_command_refuses_non_staff():
    get_user_model().objects.create_user("sec-taxpayer", password="pw-123456")
    with pytest.raises(CommandError):
        call_command("api_token_create", "sec-taxpayer", stdout=StringIO(), stderr=StringIO())
    with pytest.raises(CommandError):
        call_command("api_token_create", "nobody", stdout=StringIO(), stderr=StringIO())


def test_api_throttles_per_token(client, lead, settings, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    assert settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] == {
        "user": "600/min",
        "anon": "30/min",
    }
    # DRF reads the rates once, at import: the small budget of the test goes on the class.
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"user": "5/min", "anon": "3/min"})
    cache.clear()
    first, second = auth(lead), auth(lead)
    codes = [client.get("/api/broadcasts/1/", **first).status_code for _ in range(6)]
    assert codes == [404] * 5 + [429]
    # Per user, not per token string: a second token of the same user shares the budget.
    assert client.get("/api/broadcasts/1/", **second).status_code == 429
    other = get_user_model().objects.create_superuser("sec-other", "o@example.invalid", "pw-1")
    assert client.get("/api/broadcasts/1/", **auth(other)).status_code == 404
    throttled = client.get("/api/broadcasts/1/", **first)
    assert throttled["Retry-After"] and throttled.json()["error"]["code"] == "throttled"
