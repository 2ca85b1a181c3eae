"""Alarms on failure rates: above the threshold in the window, the on-duty supervisors
hear of it once per episode; below the clear level the episode ends."""

from datetime import timedelta

import pytest
from django.utils import timezone

from bot.conversations.models import Follower, Message
from bot.invoices.models import VerificationRecord
from bot.notices.models import Notice
from bot.reports import alarms
from bot.reports.models import AlarmEpisode, AlarmKind
from bot.simulator.envelope import build_delivery, message_fields

pytestmark = pytest.mark.django_db

SMALL = {"threshold": 0.5, "window_minutes": 10, "min_events": 4}


@pytest.fixture(autouse=True)
def small_alarms(settings):
    settings.REPORTS_ALARMS = {kind: SMALL for kind in AlarmKind.values}


@pytest.fixture
def on_duty(supervisor, agent):
    """The supervisor and an agent can both be reached in WeChat; only the supervisor is told."""
    for openid in ("o-boss", "o-agent-1"):
        Follower.objects.create(openid=openid, subscribed=True, last_interaction_at=timezone.now())
    return supervisor


def _checks(result: str, n: int) -> None:
    VerificationRecord.objects.bulk_create(
        VerificationRecord(invoice_number=f"{k:08d}", result=result) for k in range(n)
    )


def _check(capture, kind=AlarmKind.VERIFY_UPSTREAM, **kw):
    with capture(execute=True):
        return alarms.alarm_check(kind=kind, **kw)


def test_upstream_errors_alert_the_on_duty_supervisors_once_per_episode(
    on_duty, django_capture_on_commit_callbacks
):
    _checks("upstream_error", 3)
    _checks("valid", 1)
    episode = _check(django_capture_on_commit_callbacks)
    assert episode.is_open and (episode.failures, episode.total, episode.rate) == (3, 4, 0.75)
    notice = Notice.objects.get()
    assert notice.follower.openid == "o-boss" and notice.idempotency_key == f"alarm:{episode.pk}"
    assert "上游查验异常率" in notice.text and "75%" in notice.text
    episode.refresh_from_db()
    assert episode.notified == ["o-boss"] and episode.notified_at is not None
    # Still above: the same episode, nobody told twice.
    _checks("upstream_error", 4)
    again = _check(django_capture_on_commit_callbacks)
    assert again.pk == episode.pk and Notice.objects.count() == 1
    assert again.peak_rate == pytest.approx(7 / 8)
    # Recovered: the episode ends.
    _checks("valid", 30)
    assert _check(django_capture_on_commit_callbacks) is None
    episode.refresh_from_db()
    assert episode.closed_at is not None
    # A new spike is a new episode, told again.
    later = timezone.now() + timedelta(minutes=30)
    old = set(VerificationRecord.objects.values_list("id", flat=True))
    _checks("upstream_error", 5)
    VerificationRecord.objects.exclude(id__in=old).update(created_at=later - timedelta(minutes=1))
    new = _check(django_capture_on_commit_callbacks, now=later)
    assert new is not None and new.pk != episode.pk and Notice.objects.count() == 2
    assert AlarmEpisode.objects.filter(closed_at=None).count() == 1


def test_too_few_events_raise_nothing(on_duty, django_capture_on_commit_callbacks):
    _checks("upstream_error", 3)
    assert _check(django_capture_on_commit_callbacks) is None
    assert not AlarmEpisode.objects.exists() and not Notice.objects.exists()


def test_webhook_rejections_are_counted_from_the_channels_log(
    client, on_duty, django_capture_on_commit_callbacks
):
    for n in range(5):
        fields = message_fields(openid=f"o-x{n}", msg_type="text", Content="你好")
        delivery = build_delivery(fields, token="wrong-token")
        assert client.post(delivery.path, delivery.body, content_type="text/xml").status_code == 403
    found = alarms.measure(
        AlarmKind.WEBHOOK, since=timezone.now() - timedelta(minutes=5), until=timezone.now()
    )
    assert (found.failures, found.total) == (5, 5)
    episode = _check(django_capture_on_commit_callbacks, kind=AlarmKind.WEBHOOK)
    assert episode is not None and Notice.objects.get().follower.openid == "o-boss"


def test_notice_failures_and_the_unanswered_share_are_measured(on_duty):
    follower = Follower.objects.get(openid="o-boss")
    now = timezone.now()
    for n, status in enumerate(["failed", "failed", "unknown", "sent", "pending"]):
        Notice.objects.create(
            kind="broadcast", follower=follower, idempotency_key=f"k{n}", text="t",
            status=status, claimed_at=now,
        )  # fmt: skip
    since = now - timedelta(minutes=5)
    notices = alarms.measure(AlarmKind.NOTICES, since=since, until=now + timedelta(seconds=1))
    assert (notices.failures, notices.total) == (3, 4)
    for n, intent in enumerate(["oos", "oos", "sync_delay", "", "oos"]):
        Message.objects.create(
            follower=follower, direction="in", msg_type="text", text="x", intent=intent,
            dedup_key=f"msg:o-boss:{n}",
        )  # fmt: skip
    share = alarms.measure(AlarmKind.UNANSWERED, since=since, until=now + timedelta(minutes=1))
    assert (share.failures, share.total) == (3, 4)


def test_off_duty_supervisors_are_not_told(supervisor, django_capture_on_commit_callbacks):
    Follower.objects.create(openid="o-boss", subscribed=True, last_interaction_at=timezone.now())
    supervisor.agent_profile.on_duty = False
    supervisor.agent_profile.save(update_fields=["on_duty"])
    _checks("upstream_error", 5)
    assert _check(django_capture_on_commit_callbacks) is not None
    assert not Notice.objects.exists()  # the admin (and the dashboard) still show the episode


def test_the_dashboard_shows_an_open_alarm(on_duty, client, django_capture_on_commit_callbacks):
    _checks("upstream_error", 5)
    _check(django_capture_on_commit_callbacks)
    client.force_login(on_duty)
    page = client.get("/admin/reports/").content.decode()
    assert "告警：上游查验异常率" in page
    assert client.get("/admin/reports/alarmepisode/").status_code == 200
