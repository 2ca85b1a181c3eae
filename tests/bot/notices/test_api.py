"""The broadcast API through its URLs: auth, create and send, progress, cancel, errors."""

import pytest
from django.contrib.auth import get_user_model

from bot.notices.models import Broadcast
from tests.bot.notices.helpers import sent_to
from tests.security.people import supervisor_make, token_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def auth():
    user = supervisor_make("lead")
    return {"HTTP_AUTHORIZATION": f"Token {token_for(user)}"}


def test_anonymous_and_non_staff_are_refused(client):
    assert client.post("/api/broadcasts/", {"text": "x"}).status_code in (401, 403)
    user = get_user_model().objects.create_user("taxpayer", password="pw-123456")
    token = token_for(user)
    response = client.get("/api/broadcasts/1/", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 403
    staff = get_user_model().objects.create_user("agent-no-role", password="pw-1", is_staff=True)
    response = client.get("/api/broadcasts/1/", HTTP_AUTHORIZATION=f"Token {token_for(staff)}")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_post_sends_and_get_reports_done(
    client, auth, make_follower, fake_wechat, template, django_capture_on_commit_callbacks
):
    for i in range(3):
        make_follower(f"o-api{i}", hours_ago=100)
    make_follower("o-api-gone", subscribed=False)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/broadcasts/",
            {"text": "今晚22:00起系统维护两小时", "audience": "all"},
            content_type="application/json",
            **auth,
        )
    assert response.status_code == 201, response.content
    created = response.json()
    assert (created["status"], created["total"]) == ("sending", 3)
    detail = client.get(f"/api/broadcasts/{created['id']}/", **auth).json()
    assert {k: detail[k] for k in ("status", "total", "sent", "failed", "pending")} == {
        "status": "done",
        "total": 3,
        "sent": 3,
        "failed": 0,
        "pending": 0,
    }
    for i in range(3):
        assert len(sent_to(fake_wechat, f"o-api{i}")) == 1
    assert Broadcast.objects.get(pk=created["id"]).created_by.username == "lead"


def test_other_audiences_and_schedule(client, auth, make_follower):
    from bot.conversations.models import FollowerTag

    FollowerTag.objects.create(name="会计")
    response = client.post(
        "/api/broadcasts/",
        {
            "text": "仅会计",
            "audience": "tag",
            "tag": "会计",
            "scheduled_at": "2030-01-01T09:00:00+08:00",
        },
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "scheduled"
    assert response.json()["scheduled_at"].startswith("2030-01-01T09:00:00")


def test_errors_use_the_project_format(client, auth):
    response = client.post(
        "/api/broadcasts/",
        {"text": "x", "audience": "tag", "tag": "没有这个标签"},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "audience_invalid"
    response = client.post(
        "/api/broadcasts/", {"audience": "everyone"}, content_type="application/json", **auth
    )
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"text", "audience"}
    assert client.get("/api/broadcasts/999999/", **auth).status_code == 404


def test_cancel(client, auth, make_follower):
    make_follower("o-c")
    response = client.post(
        "/api/broadcasts/",
        {"text": "定时后取消", "scheduled_at": "2030-01-01T09:00:00+08:00"},
        content_type="application/json",
        **auth,
    )
    broadcast_id = response.json()["id"]
    cancelled = client.post(f"/api/broadcasts/{broadcast_id}/cancel/", **auth)
    assert cancelled.json()["status"] == "cancelled"
    again = client.post(f"/api/broadcasts/{broadcast_id}/cancel/", **auth)
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "broadcast_not_cancellable"
