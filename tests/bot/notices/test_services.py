"""The notice service against the local fake WeChat API: channel, errors, exactly once."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from bot.conversations.models import Message
from bot.notices import services
from bot.notices.models import Notice
from bot.notices.tasks import deliver_notices
from bot.notices.throttle import throttle_back_off, throttle_reset, throttle_wait_seconds
from tests.bot.notices.helpers import sent_to

pytestmark = pytest.mark.django_db

CS = "/cgi-bin/message/custom/send"
TPL = "/cgi-bin/message/template/send"


def _send(capture, follower, key="k1", kind="invoice_in_system", text="您的发票已入库"):
    with capture(execute=True):
        notice = services.notice_send(
            kind=kind, follower_id=follower.pk, text=text, idempotency_key=key
        )
    notice.refresh_from_db()
    return notice


def _pending(follower, key="k1", kind="invoice_in_system"):
    """A queued notice whose delivery the test drives itself."""
    return Notice.objects.create(
        kind=kind,
        follower=follower,
        idempotency_key=key,
        text="发票 12345678 已可查验",
        queued_at=timezone.now(),
    )


def test_inside_48_hours_goes_as_customer_service_message(
    make_follower, fake_wechat, template, django_capture_on_commit_callbacks
):
    follower = make_follower("o-recent", hours_ago=47.5)
    notice = _send(django_capture_on_commit_callbacks, follower)
    assert (notice.status, notice.channel) == ("sent", "customer_service")
    [call] = sent_to(fake_wechat, "o-recent")
    assert call.path == CS
    assert call.body["text"]["content"] == "您的发票已入库"
    mirror = Message.objects.get(notice=notice)
    assert (mirror.direction, mirror.channel, mirror.delivery_status) == (
        "out",
        "customer_service",
        "sent",
    )


def test_outside_48_hours_goes_as_configured_template(
    make_follower, fake_wechat, template, django_capture_on_commit_callbacks
):
    follower = make_follower("o-quiet", hours_ago=48.5)
    notice = _send(django_capture_on_commit_callbacks, follower)
    assert (notice.status, notice.channel) == ("sent", "template")
    [call] = sent_to(fake_wechat, "o-quiet")
    assert call.path == TPL
    assert call.body["template_id"] == "TPL-INVOICE"
    assert call.body["data"]["thing1"] == {"value": "发票已入库"}
    assert call.body["data"]["thing2"] == {"value": "您的发票已入库"}
    assert call.body["client_msg_id"] == f"notice-{notice.pk}"
    assert notice.wechat_msg_id == Message.objects.get(notice=notice).wechat_msg_id != ""


def test_never_interacted_follower_gets_template(
    make_follower, fake_wechat, template, django_capture_on_commit_callbacks
):
    follower = make_follower("o-never", hours_ago=None)
    assert _send(django_capture_on_commit_callbacks, follower).channel == "template"


def test_without_a_template_a_quiet_follower_cannot_be_reached(
    make_follower, fake_wechat, django_capture_on_commit_callbacks
):
    follower = make_follower("o-unreachable", hours_ago=72)
    notice = _send(django_capture_on_commit_callbacks, follower)
    assert notice.status == "failed"
    assert "no template" in notice.error_message
    assert sent_to(fake_wechat, "o-unreachable") == []


def test_project_default_template_covers_unconfigured_kinds(
    make_follower, fake_wechat, settings, django_capture_on_commit_callbacks
):
    settings.WECHAT_DEFAULT_TEMPLATE_ID = "TPL-DEFAULT"
    follower = make_follower("o-default", hours_ago=72)
    notice = _send(django_capture_on_commit_callbacks, follower, kind="satisfaction", text="评价")
    assert notice.status == "sent"
    [call] = sent_to(fake_wechat, "o-default")
    assert (call.body["template_id"], call.body["data"]) == (
        "TPL-DEFAULT",
        {"content": {"value": "评价"}},
    )


def test_45015_switches_the_same_notice_to_its_template(make_follower, fake_wechat, template):
    follower = make_follower("o-window", hours_ago=1)
    fake_wechat.fail_next(CS, 45015)
    notice = _pending(follower)
    services.notices_deliver(notice_ids=[notice.pk])
    notice.refresh_from_db()
    assert (notice.status, notice.channel) == ("sent", "template")
    assert [c.path for c in sent_to(fake_wechat, "o-window")] == [CS, TPL]
    assert Notice.objects.count() == 1


def test_45047_quota_used_up_switches_the_same_notice_to_its_template(
    make_follower, fake_wechat, template
):
    # More than 5 customer-service messages within 48 hours of the follower's last message.
    follower = make_follower("o-quota", hours_ago=1)
    fake_wechat.fail_next(CS, 45047)
    notice = _pending(follower)
    services.notices_deliver(notice_ids=[notice.pk])
    notice.refresh_from_db()
    assert (notice.status, notice.channel, notice.error_code) == ("sent", "template", None)
    assert [c.path for c in sent_to(fake_wechat, "o-quota")] == [CS, TPL]
    assert Message.objects.get(notice=notice).channel == "template"


def test_45015_without_any_template_fails_with_wechats_answer(make_follower, fake_wechat):
    follower = make_follower("o-window-none", hours_ago=1)
    fake_wechat.fail_next(CS, 45015)
    notice = _pending(follower)
    services.notices_deliver(notice_ids=[notice.pk])
    notice.refresh_from_db()
    assert (notice.status, notice.channel, notice.error_code) == (
        "failed",
        "customer_service",
        45015,
    )


def test_43004_marks_the_follower_unsubscribed_and_stops(make_follower, fake_wechat, template):
    follower = make_follower("o-gone", hours_ago=72)
    fake_wechat.fail_next(TPL, 43004)
    first = _pending(follower, key="a")
    outcome = services.notices_deliver(notice_ids=[first.pk])
    first.refresh_from_db()
    follower.refresh_from_db()
    assert (first.status, first.error_code, outcome.retry_ids) == ("failed", 43004, [])
    assert not follower.subscribed and follower.unsubscribed_at is not None
    later = _pending(follower, key="b")
    services.notices_deliver(notice_ids=[later.pk])
    later.refresh_from_db()
    assert (later.status, later.error_code) == ("failed", 43004)
    assert len(sent_to(fake_wechat, "o-gone")) == 1


@pytest.mark.parametrize("errcode", [40001, 40014, 42001])
def test_token_errors_refresh_the_token_once(make_follower, fake_wechat, template, errcode):
    follower = make_follower("o-token", hours_ago=72)
    services.notices_deliver(notice_ids=[_pending(follower, key="warm").pk])
    fake_wechat.fail_next(TPL, errcode)
    notice = _pending(follower)
    services.notices_deliver(notice_ids=[notice.pk])
    notice.refresh_from_db()
    assert notice.status == "sent"
    assert len(fake_wechat.calls("/cgi-bin/stable_token")) == 2  # the token was fetched again
    assert len(fake_wechat.calls(TPL)) == 3  # and the call retried once


def test_revoked_token_is_fetched_again(make_follower, fake_wechat, template):
    follower = make_follower("o-revoked", hours_ago=72)
    services.notices_deliver(notice_ids=[_pending(follower, key="warm").pk])
    fake_wechat.revoke_tokens()
    notice = _pending(follower)
    services.notices_deliver(notice_ids=[notice.pk])
    notice.refresh_from_db()
    assert notice.status == "sent"
    assert len(fake_wechat.calls("/cgi-bin/stable_token")) == 2


def test_45009_backs_off_everyone_then_retries(make_follower, fake_wechat, template):
    follower = make_follower("o-busy", hours_ago=72)
    fake_wechat.fail_next(TPL, 45009)
    notice = _pending(follower)
    outcome = services.notices_deliver(notice_ids=[notice.pk])
    notice.refresh_from_db()
    assert (notice.status, notice.attempts, notice.error_code) == ("pending", 1, 45009)
    assert (outcome.retry_ids, outcome.countdown) == ([notice.pk], 2)
    assert throttle_wait_seconds(1) > 0  # the shared bucket was drained
    throttle_reset()
    services.notices_deliver(notice_ids=outcome.retry_ids)
    notice.refresh_from_db()
    assert (notice.status, notice.attempts) == ("sent", 2)
    assert len(sent_to(fake_wechat, "o-busy")) == 2


def test_transient_errors_give_up_after_max_attempts(
    make_follower, fake_wechat, template, settings
):
    settings.NOTICES_MAX_ATTEMPTS = 3
    settings.NOTICES_RATE_LIMIT_PAUSE_SECONDS = 0
    follower = make_follower("o-flaky", hours_ago=72)
    fake_wechat.fail_next(TPL, -1, -1, -1, -1)
    notice = _pending(follower)
    for _ in range(3):
        services.notices_deliver(notice_ids=[notice.pk])
    notice.refresh_from_db()
    assert (notice.status, notice.attempts, notice.error_code) == ("failed", 3, -1)
    services.notices_deliver(notice_ids=[notice.pk])
    assert len(sent_to(fake_wechat, "o-flaky")) == 3


def test_backoff_is_capped_at_a_minute(make_follower, fake_wechat, template, settings):
    settings.NOTICES_MAX_ATTEMPTS = 10
    settings.NOTICES_RATE_LIMIT_PAUSE_SECONDS = 0
    follower = make_follower("o-cap", hours_ago=72)
    notice = _pending(follower)
    Notice.objects.filter(pk=notice.pk).update(attempts=6)  # 2**7 = 128 s uncapped
    fake_wechat.fail_next(TPL, -1)
    outcome = services.notices_deliver(notice_ids=[notice.pk])
    assert (outcome.retry_ids, outcome.countdown) == ([notice.pk], 60)


def test_task_retries_with_backoff_until_sent(make_follower, fake_wechat, template, settings):
    settings.NOTICES_RATE_LIMIT_PAUSE_SECONDS = 0
    follower = make_follower("o-retry", hours_ago=72)
    fake_wechat.fail_next(TPL, -1, -1)
    notice = _pending(follower)
    deliver_notices.apply(args=[[notice.pk]])  # eager: Celery's retries run in line
    notice.refresh_from_db()
    assert (notice.status, notice.attempts) == ("sent", 3)


def test_same_idempotency_key_is_one_notice_sent_once(
    make_follower, fake_wechat, template, django_capture_on_commit_callbacks
):
    follower = make_follower("o-once", hours_ago=72)
    first = _send(django_capture_on_commit_callbacks, follower, key="invoice:42")
    again = _send(django_capture_on_commit_callbacks, follower, key="invoice:42")
    assert first.pk == again.pk
    assert len(sent_to(fake_wechat, "o-once")) == 1


def test_database_refuses_a_second_notice_with_the_same_key(make_follower):
    follower = make_follower("o-unique")
    _pending(follower, key="ticket:7:resolved")
    with pytest.raises(IntegrityError), transaction.atomic():
        _pending(follower, key="ticket:7:resolved")


def test_repeated_task_delivery_sends_once(make_follower, fake_wechat, template):
    follower = make_follower("o-twice", hours_ago=72)
    notice = _pending(follower)
    deliver_notices.apply(args=[[notice.pk]])
    deliver_notices.apply(args=[[notice.pk]])  # the broker redelivered the task
    assert len(sent_to(fake_wechat, "o-twice")) == 1


def test_a_claimed_notice_is_not_claimed_again(make_follower, fake_wechat, template):
    follower = make_follower("o-claimed", hours_ago=72)
    notice = _pending(follower)
    Notice.objects.filter(pk=notice.pk).update(
        status="sending", claim_token="other-worker", claimed_at=timezone.now()
    )
    assert services.notices_deliver(notice_ids=[notice.pk]).settled == {}
    assert sent_to(fake_wechat, "o-claimed") == []


def _die_after_sending(monkeypatch):
    """Simulate a worker killed between WeChat's answer and the database write."""

    class WorkerLost(BaseException):
        pass

    def die(*args, **kwargs):
        raise WorkerLost

    monkeypatch.setattr(services, "_settle", die)
    return WorkerLost


def test_lost_worker_template_notice_is_resent_with_the_same_client_msg_id(
    make_follower, fake_wechat, template, monkeypatch, django_capture_on_commit_callbacks
):
    follower = make_follower("o-lost", hours_ago=72)
    notice = _pending(follower)
    with monkeypatch.context() as patch:
        lost = _die_after_sending(patch)
        with pytest.raises(lost):
            services.notices_deliver(notice_ids=[notice.pk])
    notice.refresh_from_db()
    assert notice.status == "sending"
    later = timezone.now() + timedelta(seconds=61)
    with django_capture_on_commit_callbacks(execute=True):
        recovered = services.notices_recover(now=later)
    assert recovered == {"unknown": 0, "resent": 1, "requeued": 0}
    notice.refresh_from_db()
    assert (notice.status, notice.attempts) == ("sent", 2)
    calls = sent_to(fake_wechat, "o-lost")
    # WeChat keeps one message per openid + client_msg_id for 10 minutes.
    assert [c.body["client_msg_id"] for c in calls] == [f"notice-{notice.pk}"] * 2
    assert Message.objects.filter(follower=follower, direction="out").count() == 1


def test_lost_worker_customer_service_notice_is_never_resent(
    make_follower, fake_wechat, template, monkeypatch
):
    follower = make_follower("o-lost-cs", hours_ago=1)
    notice = _pending(follower)
    with monkeypatch.context() as patch:
        lost = _die_after_sending(patch)
        with pytest.raises(lost):
            services.notices_deliver(notice_ids=[notice.pk])
    later = timezone.now() + timedelta(seconds=61)
    assert services.notices_recover(now=later)["unknown"] == 1
    notice.refresh_from_db()
    assert notice.status == "unknown"
    assert len(sent_to(fake_wechat, "o-lost-cs")) == 1


def test_recovery_leaves_live_claims_alone(make_follower, fake_wechat, template):
    follower = make_follower("o-live", hours_ago=72)
    notice = _pending(follower)
    Notice.objects.filter(pk=notice.pk).update(
        status="sending", claim_token="busy", claimed_at=timezone.now()
    )
    assert services.notices_recover() == {"unknown": 0, "resent": 0, "requeued": 0}
    notice.refresh_from_db()
    assert notice.status == "sending"


def test_lost_task_of_a_pending_notice_is_queued_again(
    make_follower, fake_wechat, template, django_capture_on_commit_callbacks
):
    follower = make_follower("o-queued", hours_ago=72)
    notice = _pending(follower)  # its task vanished with the worker that held it
    later = timezone.now() + timedelta(seconds=61)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.notices_recover(now=later)["requeued"] == 1
    notice.refresh_from_db()
    assert notice.status == "sent"


def test_embedded_mode_records_notice_for_the_simulator(
    make_follower, settings, template, django_capture_on_commit_callbacks
):
    settings.WECHAT_APP_SECRET = ""
    follower = make_follower("o-sim", hours_ago=72)
    notice = _send(django_capture_on_commit_callbacks, follower)
    assert (notice.status, notice.channel) == ("simulated", "template")
    message = Message.objects.get(follower=follower, direction="out")
    assert (message.delivery_status, message.text) == ("simulated", "您的发票已入库")


def test_unsubscribed_follower_is_not_called(make_follower, fake_wechat, template):
    follower = make_follower("o-unsub", hours_ago=1, subscribed=False)
    notice = _pending(follower)
    services.notices_deliver(notice_ids=[notice.pk])
    notice.refresh_from_db()
    assert (notice.status, notice.error_code) == ("failed", 43004)
    assert sent_to(fake_wechat, "o-unsub") == []


def test_link_is_appended_to_text_and_set_on_template(
    make_follower, fake_wechat, template, django_capture_on_commit_callbacks
):
    recent, quiet = make_follower("o-link-cs", hours_ago=1), make_follower("o-link-t", hours_ago=72)
    for follower in (recent, quiet):
        with django_capture_on_commit_callbacks(execute=True):
            services.notice_send(
                kind="broadcast",
                follower_id=follower.pk,
                text="新版查验指南",
                url="https://example.com/guide",
                idempotency_key="guide",
            )
    [cs] = sent_to(fake_wechat, "o-link-cs")
    [tpl] = sent_to(fake_wechat, "o-link-t")
    assert cs.body["text"]["content"] == "新版查验指南\nhttps://example.com/guide"
    assert tpl.body["url"] == "https://example.com/guide"


def test_without_budget_nothing_is_claimed(make_follower, fake_wechat, template):
    follower = make_follower("o-wait", hours_ago=72)
    notice = _pending(follower)
    throttle_back_off(60)
    outcome = services.notices_deliver(notice_ids=[notice.pk])
    notice.refresh_from_db()
    assert (outcome.retry_ids, notice.status, notice.attempts) == ([notice.pk], "pending", 0)
    assert sent_to(fake_wechat, "o-wait") == []


def test_pending_notices_behind_a_draining_broadcast_are_not_requeued(
    make_follower, fake_wechat, template, django_capture_on_commit_callbacks
):
    from bot.notices.models import Broadcast

    broadcast = Broadcast.objects.create(text="t", audience="all", status="sending")
    first, second = make_follower("o-d1", hours_ago=72), make_follower("o-d2", hours_ago=72)
    done = Notice.objects.create(
        kind="broadcast", follower=first, idempotency_key="b", text="t", broadcast=broadcast
    )
    waiting = Notice.objects.create(
        kind="broadcast", follower=second, idempotency_key="b", text="t", broadcast=broadcast
    )
    Notice.objects.filter(pk=waiting.pk).update(queued_at=timezone.now() - timedelta(minutes=5))
    services.notices_deliver(notice_ids=[done.pk])  # the queue is moving
    assert services.notices_recover()["requeued"] == 0
    cache.clear()  # ...then nothing was claimed for a whole lease
    with django_capture_on_commit_callbacks(execute=True):
        assert services.notices_recover()["requeued"] == 1
    waiting.refresh_from_db()
    assert waiting.status == "sent"


def test_network_failure_is_transient(make_follower, template, settings):
    settings.WECHAT_APP_SECRET = "s"
    settings.WECHAT_API_BASE_URL = "http://127.0.0.1:9"  # discard port: connection refused
    notice = _pending(make_follower("o-net", hours_ago=72))
    outcome = services.notices_deliver(notice_ids=[notice.pk])
    notice.refresh_from_db()
    assert (outcome.retry_ids, notice.status, notice.error_code) == ([notice.pk], "pending", None)
    assert notice.error_message.startswith("network")
