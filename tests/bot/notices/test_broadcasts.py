"""Broadcasts end to end against the local fake WeChat API (tasks run in process)."""

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from bot.conversations.models import FollowerTag, Message
from bot.notices import broadcasts
from bot.notices.models import Broadcast, Notice
from bot.notices.selectors import broadcast_progress
from tests.bot.notices.helpers import sent_to

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_batches(settings):
    settings.NOTICES_EXPAND_BATCH = 10
    settings.NOTICES_CHUNK_SIZE = 4


def _start(capture, broadcast):
    with capture(execute=True):
        broadcasts.broadcast_start(broadcast_id=broadcast.pk)
    broadcast.refresh_from_db()
    return broadcast


def test_broadcast_reaches_every_subscribed_follower_exactly_once(
    make_follower, fake_wechat, template, small_batches, django_capture_on_commit_callbacks
):
    recent = [make_follower(f"o-r{i}", hours_ago=2) for i in range(7)]
    quiet = [make_follower(f"o-q{i}", hours_ago=100) for i in range(16)]
    make_follower("o-unsub", subscribed=False)
    broadcast = broadcasts.broadcast_create(text="明日凌晨系统维护", audience="all")
    broadcast = _start(django_capture_on_commit_callbacks, broadcast)
    assert (broadcast.status, broadcast.total, broadcast.expanded) == ("done", 23, True)
    progress = broadcast_progress(broadcast=broadcast)
    assert (progress.total, progress.sent, progress.failed, progress.pending) == (23, 23, 0, 0)
    calls = fake_wechat.calls("/cgi-bin/message/custom/send") + fake_wechat.calls(
        "/cgi-bin/message/template/send"
    )
    per_openid = Counter(c.body["touser"] for c in calls)
    assert per_openid == Counter({f.openid: 1 for f in recent + quiet})
    assert {sent_to(fake_wechat, f.openid)[0].path for f in recent} == {
        "/cgi-bin/message/custom/send"
    }
    assert {sent_to(fake_wechat, f.openid)[0].body["template_id"] for f in quiet} == {"TPL-BCAST"}


def test_expanding_a_batch_twice_creates_no_second_notice(
    make_follower, fake_wechat, template, small_batches, django_capture_on_commit_callbacks
):
    for i in range(5):
        make_follower(f"o-{i}", hours_ago=100)
    broadcast = broadcasts.broadcast_create(text="通知", audience="all")
    with django_capture_on_commit_callbacks(execute=False):
        broadcasts.broadcast_start(broadcast_id=broadcast.pk)
    # A lost worker's expansion step re-run from the same cursor.
    Broadcast.objects.filter(pk=broadcast.pk).update(cursor=0, expanded=False)
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            broadcasts.broadcast_expand_step(broadcast_id=broadcast.pk)
        Broadcast.objects.filter(pk=broadcast.pk).update(cursor=0, expanded=False)
    assert Notice.objects.filter(broadcast=broadcast).count() == 5
    assert len(fake_wechat.calls("/cgi-bin/message/template/send")) == 5


def test_cancel_stops_what_is_not_yet_sent(
    make_follower, fake_wechat, template, small_batches, django_capture_on_commit_callbacks
):
    for i in range(10):
        make_follower(f"o-{i:02d}", hours_ago=100)
    broadcast = broadcasts.broadcast_create(text="将被取消", audience="all")
    with django_capture_on_commit_callbacks(execute=False):
        broadcasts.broadcast_start(broadcast_id=broadcast.pk)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        broadcasts.broadcast_expand_step(broadcast_id=broadcast.pk)
    chunks = queued[1:]  # the first callback queues the next expansion step
    assert len(chunks) == 3  # 4 + 4 + 2 notices
    chunks[0]()
    broadcasts.broadcast_cancel(broadcast_id=broadcast.pk)
    for chunk in chunks[1:]:
        chunk()
    assert len(fake_wechat.calls("/cgi-bin/message/template/send")) == 4
    broadcast.refresh_from_db()
    progress = broadcast_progress(broadcast=broadcast)
    assert (broadcast.status, progress.sent, progress.cancelled, progress.pending) == (
        "cancelled",
        4,
        6,
        0,
    )
    with pytest.raises(broadcasts.NoticesError) as error:
        broadcasts.broadcast_cancel(broadcast_id=broadcast.pk)
    assert error.value.code == "broadcast_not_cancellable"


def test_cancelled_before_expansion_sends_nothing(
    make_follower, fake_wechat, template, django_capture_on_commit_callbacks
):
    make_follower("o-1", hours_ago=100)
    broadcast = broadcasts.broadcast_create(text="不发", audience="all")
    with django_capture_on_commit_callbacks(execute=False) as queued:
        broadcasts.broadcast_start(broadcast_id=broadcast.pk)
    broadcasts.broadcast_cancel(broadcast_id=broadcast.pk)
    for callback in queued:
        callback()
    assert fake_wechat.calls("/cgi-bin/message/template/send") == []
    assert not Notice.objects.exists()


def test_preview_goes_to_one_follower_only(
    make_follower, fake_wechat, template, django_capture_on_commit_callbacks
):
    me, other = make_follower("o-me", hours_ago=1), make_follower("o-other", hours_ago=1)
    broadcast = broadcasts.broadcast_create(text="五一假期安排", audience="all")
    for _ in range(2):  # each click sends a new preview
        with django_capture_on_commit_callbacks(execute=True):
            broadcasts.broadcast_preview(broadcast_id=broadcast.pk, follower_id=me.pk)
    calls = sent_to(fake_wechat, "o-me")
    assert [c.body["text"]["content"] for c in calls] == ["【预览】五一假期安排"] * 2
    assert sent_to(fake_wechat, other.openid) == []
    broadcast.refresh_from_db()
    assert broadcast.status == "draft"
    assert broadcast_progress(broadcast=broadcast).sent == 0


def test_scheduled_broadcast_starts_when_due(
    make_follower, fake_wechat, template, django_capture_on_commit_callbacks
):
    make_follower("o-s", hours_ago=100)
    broadcast = broadcasts.broadcast_create(text="定时", audience="all")
    at = timezone.now() + timedelta(hours=1)
    broadcasts.broadcast_schedule(broadcast_id=broadcast.pk, at=at)
    assert broadcasts.broadcasts_start_due() == []
    with django_capture_on_commit_callbacks(execute=True):
        assert broadcasts.broadcasts_start_due(now=at) == [broadcast.pk]
    broadcast.refresh_from_db()
    assert broadcast.status == "done"
    assert len(sent_to(fake_wechat, "o-s")) == 1
    with pytest.raises(broadcasts.NoticesError):
        broadcasts.broadcast_start(broadcast_id=broadcast.pk)


def test_delivery_receipt_is_counted(
    make_follower, fake_wechat, template, wechat, django_capture_on_commit_callbacks
):
    follower = make_follower("o-receipt", hours_ago=100)
    broadcast = _start(
        django_capture_on_commit_callbacks,
        broadcasts.broadcast_create(text="回执", audience="all"),
    )
    notice = Notice.objects.get(broadcast=broadcast)
    wechat.event(
        follower.openid, "TEMPLATESENDJOBFINISH", MsgID=notice.wechat_msg_id, Status="success"
    )
    assert Message.objects.get(notice=notice).delivery_status == "delivered"
    assert broadcast_progress(broadcast=broadcast).delivered == 1


def test_tag_audience_needs_a_known_tag():
    with pytest.raises(broadcasts.NoticesError) as error:
        broadcasts.broadcast_create(text="x", audience="tag", tag_name="不存在")
    assert error.value.code == "audience_invalid"
    with pytest.raises(broadcasts.NoticesError):
        broadcasts.broadcast_create(text="x", audience="intent")


def test_mass_send_only_by_synced_tag_or_to_all():
    FollowerTag.objects.create(name="本地标签")
    with pytest.raises(broadcasts.NoticesError) as error:
        broadcasts.broadcast_create(
            text="x", audience="tag", tag_name="本地标签", use_mass_send=True
        )
    assert error.value.code == "mass_send_unavailable"


def test_mass_send_in_embedded_mode_is_recorded(
    make_follower, settings, django_capture_on_commit_callbacks
):
    settings.WECHAT_APP_SECRET = ""
    FollowerTag.objects.create(name="会计", wechat_tag_id=7)
    broadcast = broadcasts.broadcast_create(
        text="群发", audience="tag", tag_name="会计", use_mass_send=True
    )
    broadcast = _start(django_capture_on_commit_callbacks, broadcast)
    assert (broadcast.status, broadcast.mass_msg_id) == ("done", "simulated")
    assert not Notice.objects.exists()
