"""The agents' read API through its URLs: auth, staff only, conversation order."""

import pytest
from django.contrib.auth import get_user_model
from knox.models import AuthToken

from tests.security.people import supervisor_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_token():
    user = supervisor_make("agent1")  # sees every follower; agents: tests/security
    return AuthToken.objects.create(user=user)[1]


def _auth(token):
    return {"HTTP_AUTHORIZATION": f"Token {token}"}


def test_anonymous_is_refused(client):
    assert client.get("/api/followers/").status_code in (401, 403)


def test_non_staff_is_forbidden(client):
    user = get_user_model().objects.create_user("taxpayer", password="pw-123456")
    token = AuthToken.objects.create(user=user)[1]
    response = client.get("/api/followers/", **_auth(token))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_followers_and_conversation_oldest_first(client, wechat, staff_token):
    wechat.event("o-api", "subscribe")
    wechat.text("o-api", "第一条")
    wechat.text("o-api", "第二条")
    followers = client.get("/api/followers/", **_auth(staff_token)).json()
    assert [f["openid"] for f in followers["results"]] == ["o-api"]
    assert followers["results"][0]["subscribed"] is True

    messages = client.get("/api/followers/o-api/messages/", **_auth(staff_token)).json()["results"]
    inbound = [m["text"] for m in messages if m["direction"] == "in" and m["msg_type"] == "text"]
    assert inbound == ["第一条", "第二条"]
    ids = [m["id"] for m in messages]
    assert ids == sorted(ids)
    assert {m["direction"] for m in messages} == {"in", "out"}


def test_unknown_follower_is_404(client, staff_token):
    response = client.get("/api/followers/nobody/messages/", **_auth(staff_token))
    assert response.status_code == 404


def test_session_auth_works_for_staff(client):
    supervisor_make("agent2")
    client.login(username="agent2", password="pw-123456")
    assert client.get("/api/followers/").status_code == 200


def test_api_token_create_command_gives_a_working_token(client):
    from io import StringIO

    from django.core.management import call_command

    supervisor_make("agent3")
    out = StringIO()
    call_command("api_token_create", "agent3", stdout=out, stderr=StringIO())
    token = out.getvalue().strip()
    assert client.get("/api/followers/", **_auth(token)).status_code == 200


def test_openapi_schema_lists_the_endpoints(client, staff_token):
    response = client.get("/api/schema/", **_auth(staff_token))
    assert response.status_code == 200
    body = response.content.decode()
    assert "/api/followers/" in body
    assert "/api/followers/{openid}/messages/" in body
