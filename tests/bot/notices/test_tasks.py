"""Broadcasts through a real Celery worker process, Redis broker and PostgreSQL."""

import time
from collections import Counter
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from bot.conversations.models import Follower
from bot.notices import broadcasts
from bot.notices.models import Broadcast, Notice, NoticeTemplate
from bot.notices.services import notice_send
from bot.notices.tasks import recover_notices
from tests.concurrency import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _calls_for(server, prefix):
    calls = server.calls("/cgi-bin/message/template/send") + server.calls(
        "/cgi-bin/message/custom/send"
    )
    return Counter(c.body["touser"] for c in calls if c.body["touser"].startswith(prefix))


def test_worker_sends_a_broadcast_once_to_each_follower(
    celery_worker_process, fake_wechat_server, settings
):
    NoticeTemplate.objects.create(
        kind="broadcast", template_id="TPL-B", field_mapping={"thing1": "{text}"}
    )
    old = timezone.now() - timedelta(days=3)
    Follower.objects.bulk_create(
        [
            Follower(openid=f"o-wb{i:03d}", subscribed=True, last_interaction_at=old)
            for i in range(60)
        ]
    )
    with transaction.atomic():
        broadcast = broadcasts.broadcast_create(text="worker 群发", audience="all")
        broadcasts.broadcast_start(broadcast_id=broadcast.pk)

    def done():
        broadcast.refresh_from_db()
        return broadcast.status == "done"

    assert wait_for(done, seconds=60.0), broadcast.status
    assert _calls_for(fake_wechat_server, "o-wb") == Counter({f"o-wb{i:03d}": 1 for i in range(60)})
    assert Notice.objects.filter(broadcast=broadcast, status="sent").count() == 60


def test_worker_recovers_a_claim_left_by_a_lost_worker(celery_worker_process, fake_wechat_server):
    NoticeTemplate.objects.create(
        kind="broadcast", template_id="TPL-B", field_mapping={"thing1": "{text}"}
    )
    old = timezone.now() - timedelta(days=3)
    follower = Follower.objects.create(openid="o-lost-w", subscribed=True, last_interaction_at=old)
    broadcast = Broadcast.objects.create(
        text="丢失", audience="all", status="sending", expanded=True, total=1
    )
    notice = Notice.objects.create(
        kind="broadcast",
        follower=follower,
        idempotency_key=broadcast.idempotency_key,
        text="丢失",
        broadcast=broadcast,
        status="sending",
        claim_token="dead-worker",
        claimed_at=timezone.now() - timedelta(minutes=2),
        queued_at=timezone.now() - timedelta(minutes=2),
    )
    recover_notices.delay()

    def settled():
        broadcast.refresh_from_db()
        notice.refresh_from_db()
        return notice.status == "sent" and broadcast.status == "done"

    assert wait_for(settled, seconds=60.0), (notice.status, broadcast.status)
    assert _calls_for(fake_wechat_server, "o-lost-w") == Counter({"o-lost-w": 1})


def test_worker_delivers_a_notice_after_commit(celery_worker_process, fake_wechat_server):
    follower = Follower.objects.create(
        openid="o-worker", subscribed=True, last_interaction_at=timezone.now()
    )
    with transaction.atomic():
        notice = notice_send(
            kind="ticket_event",
            follower_id=follower.pk,
            text="工单 T20261127-0001 已受理",
            idempotency_key="ticket:T20261127-0001:accepted",
        )

    def sent():
        notice.refresh_from_db()
        return notice.status == "sent"

    assert wait_for(sent), notice.status
    assert _calls_for(fake_wechat_server, "o-worker") == Counter({"o-worker": 1})
    [call] = [
        c
        for c in fake_wechat_server.calls("/cgi-bin/message/custom/send")
        if c.body["touser"] == "o-worker"
    ]
    assert call.body["text"]["content"] == "工单 T20261127-0001 已受理"


def test_a_rolled_back_notice_is_never_sent(celery_worker_process, fake_wechat_server):
    follower = Follower.objects.create(
        openid="o-rollback", subscribed=True, last_interaction_at=timezone.now()
    )
    with pytest.raises(RuntimeError), transaction.atomic():
        notice_send(
            kind="ticket_event", follower_id=follower.pk, text="不会发出", idempotency_key="k"
        )
        raise RuntimeError("abort")
    time.sleep(1.0)
    assert not Notice.objects.filter(follower=follower).exists()
    assert _calls_for(fake_wechat_server, "o-rollback") == Counter()
