"""A worker killed mid-broadcast: unknown outcomes are counted, never resent, never `done`."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from bot.conversations.models import Follower
from bot.notices.models import Broadcast, Notice
from bot.notices.tasks import recover_notices
from tests.bot.notices.helpers import sent_to
from tests.security.people import auth

pytestmark = pytest.mark.django_db

TEXT = "系统维护通知：今晚 22:00–23:00 暂停查验。"


def _killed_broadcast(*, delivered: int, in_flight: int, template_in_flight: int = 0):
    """Rows as a worker leaves them when killed: some sent, the rest claimed, lease expired.

    Customer-service notices (followers inside the 48-hour window) may or may not have
    reached WeChat; template ones can be resent under the same client_msg_id.
    """
    now = timezone.now()
    died_at = now - timedelta(seconds=120)  # past the 60 s lease, inside the 10-minute window
    total = delivered + in_flight + template_in_flight
    broadcast = Broadcast.objects.create(
        text=TEXT,
        title="维护",
        audience="all",
        status=Broadcast.Status.SENDING,
        expanded=True,
        total=total,
        started_at=died_at,
    )
    active = now - timedelta(hours=1)
    quiet = now - timedelta(hours=72)
    followers = Follower.objects.bulk_create(
        [
            Follower(
                openid=f"o-kill-{i:03d}",
                subscribed=True,
                last_interaction_at=active if i < delivered + in_flight else quiet,
            )
            for i in range(total)
        ]
    )
    notices = []
    for i, follower in enumerate(followers):
        sent = i < delivered
        cs = i < delivered + in_flight
        notices.append(
            Notice(
                kind="broadcast",
                follower=follower,
                broadcast=broadcast,
                idempotency_key=f"broadcast:{broadcast.pk}:{follower.pk}",
                text=TEXT,
                channel=Notice.Channel.CUSTOMER_SERVICE if cs else Notice.Channel.TEMPLATE,
                status=Notice.Status.SENT if sent else Notice.Status.SENDING,
                attempts=1,
                claim_token="" if sent else "dead-worker",
                queued_at=died_at,
                claimed_at=died_at,
                sent_at=died_at if sent else None,
            )
        )
    Notice.objects.bulk_create(notices)
    return broadcast


@pytest.fixture
def lead():
    return get_user_model().objects.create_superuser("lead-kill", "l@example.invalid", "pw-123456")


def test_killed_customer_service_broadcast_ends_done_with_unknowns(
    client, lead, fake_wechat, template, django_capture_on_commit_callbacks
):
    broadcast = _killed_broadcast(delivered=280, in_flight=120)
    with django_capture_on_commit_callbacks(execute=True):
        recover_notices()  # the beat task: notices_recover, then broadcasts_recover

    body = client.get(f"/api/broadcasts/{broadcast.pk}/", **auth(lead)).json()
    assert body["status"] == "done_unknowns"
    assert (body["total"], body["sent"], body["unknown"], body["pending"]) == (400, 280, 120, 0)
    # Nothing went out again: a second copy of a customer-service message cannot be undone.
    assert fake_wechat.calls("/cgi-bin/message/custom/send") == []
    unknown = Notice.objects.filter(broadcast=broadcast, status="unknown")
    assert unknown.count() == 120
    assert set(unknown.values_list("error_message", flat=True)) == {
        "worker lost during the call; not resent"
    }

    client.force_login(lead)
    page = client.get("/admin/notices/broadcast/").content.decode()
    assert "已完成（部分结果未知）" in page
    assert "其中结果未知、未重发 <a href=" in page
    listed = client.get(
        f"/admin/notices/notice/?broadcast__id__exact={broadcast.pk}&status__exact=unknown"
    )
    assert listed.status_code == 200
    assert listed.context["cl"].result_count == 120


def test_template_notices_of_a_killed_broadcast_are_resent_deduplicated(
    client, lead, fake_wechat, template, django_capture_on_commit_callbacks
):
    broadcast = _killed_broadcast(delivered=3, in_flight=2, template_in_flight=4)
    with django_capture_on_commit_callbacks(execute=True):
        recover_notices()
    with django_capture_on_commit_callbacks(execute=True):
        recover_notices()  # the resent chunk finished: now the broadcast can settle
    body = client.get(f"/api/broadcasts/{broadcast.pk}/", **auth(lead)).json()
    assert (body["sent"], body["unknown"], body["pending"]) == (7, 2, 0)
    assert body["status"] == "done_unknowns"
    resent = Notice.objects.filter(broadcast=broadcast, channel="template")
    for notice in resent:
        calls = sent_to(fake_wechat, notice.follower.openid)
        # The same client_msg_id as the lost attempt: WeChat drops a repeat for 10 minutes.
        assert [c.body["client_msg_id"] for c in calls] == [f"notice-{notice.pk}"]


def test_a_broadcast_without_unknowns_is_plain_done(
    client, lead, fake_wechat, template, django_capture_on_commit_callbacks
):
    broadcast = _killed_broadcast(delivered=5, in_flight=0)
    with django_capture_on_commit_callbacks(execute=True):
        recover_notices()
    body = client.get(f"/api/broadcasts/{broadcast.pk}/", **auth(lead)).json()
    assert (body["status"], body["unknown"]) == ("done", 0)


def test_done_with_unknowns_cannot_be_cancelled(client, lead, fake_wechat, template):
    broadcast = _killed_broadcast(delivered=1, in_flight=1)
    recover_notices()
    response = client.post(f"/api/broadcasts/{broadcast.pk}/cancel/", **auth(lead))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "broadcast_not_cancellable"


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_real_worker_recovers_a_killed_broadcast_honestly(
    celery_worker_process, fake_wechat_server, client
):
    """The same kill on PostgreSQL + Redis, recovery run by a real `celery` worker."""
    from bot.notices.models import NoticeTemplate
    from tests.concurrency import wait_for

    NoticeTemplate.objects.create(
        kind="broadcast", template_id="TPL-B", field_mapping={"thing1": "{text}"}
    )
    lead = get_user_model().objects.create_superuser("lead-w", "w@example.invalid", "pw-123456")
    broadcast = _killed_broadcast(delivered=280, in_flight=120, template_in_flight=5)
    recover_notices.delay()

    def settled():
        broadcast.refresh_from_db()
        if broadcast.status == Broadcast.Status.SENDING:
            recover_notices.delay()  # beat's next run: the resent chunk has finished
        return broadcast.status != Broadcast.Status.SENDING

    assert wait_for(settled, seconds=60.0), broadcast.status
    body = client.get(f"/api/broadcasts/{broadcast.pk}/", **auth(lead)).json()
    assert body["status"] == "done_unknowns"
    assert (body["sent"], body["unknown"], body["pending"]) == (285, 120, 0)
    customer_service = [
        c
        for c in fake_wechat_server.calls("/cgi-bin/message/custom/send")
        if c.body["touser"].startswith("o-kill-")
    ]
    assert customer_service == []
