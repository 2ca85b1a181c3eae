"""Channel choice with subscribe messages (订阅通知), against the local fake WeChat API."""

from datetime import timedelta

import pytest
from django.utils import timezone

from bot.conversations.models import Message
from bot.notices import services
from bot.notices.models import Notice, NoticeTemplate
from bot.notices.tasks import deliver_notices
from bot.notices.throttle import throttle_back_off

pytestmark = pytest.mark.django_db

CS = "/cgi-bin/message/custom/send"
TPL = "/cgi-bin/message/template/send"
SUB = "/cgi-bin/message/subscribe/bizsend"
LONG_TEXT = "您查验的发票 12345678 现已可在全国增值税发票查验平台查验，请重新查验。"


def _calls(fake_wechat, openid: str) -> list:
    calls = fake_wechat.calls(CS) + fake_wechat.calls(TPL) + fake_wechat.calls(SUB)
    return [c for c in calls if c.body and c.body.get("touser") == openid]


@pytest.fixture
def subscribe(db):
    """invoice_in_system configured as a subscribe message, as a supervisor would in admin."""
    return NoticeTemplate.objects.create(
        kind="invoice_in_system",
        message_type="subscribe",
        template_id="SUB-INVOICE",
        field_mapping={"thing1": "{title}", "thing2": "{text}", "time3": "{time}"},
        page="https://fapiao.example.com/help",
    )


def _pending(follower, key="k1", kind="invoice_in_system", url=""):
    return Notice.objects.create(
        kind=kind,
        follower=follower,
        idempotency_key=key,
        text=LONG_TEXT,
        url=url,
        queued_at=timezone.now(),
    )


def _deliver(notice) -> services.DeliveryOutcome:
    outcome = services.notices_deliver(notice_ids=[notice.pk])
    notice.refresh_from_db()
    return outcome


def test_outside_48_hours_a_subscribe_kind_goes_as_subscribe_message(
    make_follower, fake_wechat, subscribe, django_capture_on_commit_callbacks
):
    follower = make_follower("o-sub", hours_ago=49)
    with django_capture_on_commit_callbacks(execute=True):
        notice = services.notice_send(
            kind="invoice_in_system", follower_id=follower.pk, text=LONG_TEXT, idempotency_key="k"
        )
    notice.refresh_from_db()
    assert (notice.status, notice.channel, notice.error_code) == ("sent", "subscribe", None)
    [call] = _calls(fake_wechat, "o-sub")
    assert call.path == SUB
    assert call.body["template_id"] == "SUB-INVOICE"
    assert call.body["page"] == "https://fapiao.example.com/help"
    assert "client_msg_id" not in call.body
    data = call.body["data"]
    assert data["thing1"] == {"value": "发票已入库"}
    # thing values are cut to WeChat's 20 characters, visibly.
    assert data["thing2"]["value"] == LONG_TEXT[:19] + "…"
    assert len(data["thing2"]["value"]) == 20
    assert data["time3"]["value"].startswith(str(timezone.localdate().year))
    mirror = Message.objects.get(notice=notice)
    assert (mirror.channel, mirror.template_id, mirror.delivery_status) == (
        "subscribe",
        "SUB-INVOICE",
        "sent",
    )
    assert mirror.payload["data"] == data


def test_the_notice_link_wins_over_the_configured_page(make_follower, fake_wechat, subscribe):
    follower = make_follower("o-sub-link", hours_ago=72)
    _deliver(_pending(follower, url="https://fapiao.example.com/invoice/42"))
    [call] = _calls(fake_wechat, "o-sub-link")
    assert call.body["page"] == "https://fapiao.example.com/invoice/42"


def test_a_kind_with_a_template_message_config_still_gets_its_template(
    make_follower, fake_wechat, subscribe
):
    NoticeTemplate.objects.create(
        kind="ticket_event", template_id="TPL-TICKET", field_mapping={"thing1": "{text}"}
    )
    follower = make_follower("o-tpl", hours_ago=72)
    notice = _pending(follower, kind="ticket_event")
    _deliver(notice)
    assert (notice.status, notice.channel) == ("sent", "template")
    [call] = _calls(fake_wechat, "o-tpl")
    assert (call.path, call.body["template_id"]) == (TPL, "TPL-TICKET")
    assert call.body["data"]["thing1"]["value"] == LONG_TEXT  # template values are not cut to 20


def test_inside_48_hours_customer_service_message_regardless(make_follower, fake_wechat, subscribe):
    follower = make_follower("o-cs", hours_ago=47)
    notice = _pending(follower)
    _deliver(notice)
    assert (notice.status, notice.channel) == ("sent", "customer_service")
    assert [c.path for c in _calls(fake_wechat, "o-cs")] == [CS]


def test_45015_inside_the_window_falls_back_to_the_subscribe_message(
    make_follower, fake_wechat, subscribe
):
    follower = make_follower("o-45015", hours_ago=1)
    fake_wechat.fail_next(CS, 45015)
    notice = _pending(follower)
    _deliver(notice)
    assert (notice.status, notice.channel) == ("sent", "subscribe")
    assert [c.path for c in _calls(fake_wechat, "o-45015")] == [CS, SUB]


def test_43101_refused_is_failed_with_a_clear_error_and_not_retried(
    make_follower, fake_wechat, subscribe
):
    follower = make_follower("o-refused", hours_ago=72)
    fake_wechat.fail_next(SUB, 43101)
    notice = _pending(follower)
    deliver_notices.apply(args=[[notice.pk]])  # eager: a retry would run in line
    notice.refresh_from_db()
    follower.refresh_from_db()
    assert (notice.status, notice.channel, notice.error_code, notice.attempts) == (
        "failed",
        "subscribe",
        43101,
        1,
    )
    assert "has not accepted this subscribe message" in notice.error_message
    assert len(_calls(fake_wechat, "o-refused")) == 1
    assert follower.subscribed  # refusing a subscribe template is not unfollowing
    assert not Message.objects.filter(follower=follower, direction="out").exists()


def test_47003_data_format_error_is_failed(make_follower, fake_wechat, subscribe):
    follower = make_follower("o-format", hours_ago=72)
    fake_wechat.fail_next(SUB, 47003)
    notice = _pending(follower)
    outcome = _deliver(notice)
    assert (notice.status, notice.error_code, outcome.retry_ids) == ("failed", 47003, [])
    assert len(_calls(fake_wechat, "o-format")) == 1


def test_a_transient_error_is_retried_with_backoff(make_follower, fake_wechat, subscribe, settings):
    settings.NOTICES_RATE_LIMIT_PAUSE_SECONDS = 0
    follower = make_follower("o-busy", hours_ago=72)
    fake_wechat.fail_next(SUB, -1)
    notice = _pending(follower)
    outcome = _deliver(notice)
    assert (notice.status, notice.channel, notice.error_code) == ("pending", "subscribe", -1)
    assert (outcome.retry_ids, outcome.countdown) == ([notice.pk], 2)
    deliver_notices.apply(args=[outcome.retry_ids])
    notice.refresh_from_db()
    assert (notice.status, notice.attempts, notice.error_code) == ("sent", 2, None)
    assert len(_calls(fake_wechat, "o-busy")) == 2


def test_a_retried_task_sends_once(
    make_follower, fake_wechat, subscribe, django_capture_on_commit_callbacks
):
    follower = make_follower("o-once", hours_ago=72)
    for _ in range(2):  # the caller repeats itself with the same key
        with django_capture_on_commit_callbacks(execute=True):
            notice = services.notice_send(
                kind="invoice_in_system",
                follower_id=follower.pk,
                text="发票已入库",
                idempotency_key="invoice-watch:7:found",
            )
    deliver_notices.apply(args=[[notice.pk]])  # the broker redelivered the task
    deliver_notices.apply(args=[[notice.pk]])
    assert len(_calls(fake_wechat, "o-once")) == 1
    assert Notice.objects.get().status == "sent"


def test_a_subscribe_notice_left_by_a_lost_worker_is_never_resent(
    make_follower, fake_wechat, subscribe, monkeypatch
):
    class WorkerLost(BaseException):
        pass

    def die(*args, **kwargs):
        raise WorkerLost

    follower = make_follower("o-lost", hours_ago=72)
    notice = _pending(follower)
    with monkeypatch.context() as patch:
        patch.setattr(services, "_settle", die)
        with pytest.raises(WorkerLost):
            services.notices_deliver(notice_ids=[notice.pk])
    notice.refresh_from_db()
    assert (notice.status, notice.channel) == ("sending", "subscribe")
    # bizsend has no client_msg_id: a resend would be a second message.
    later = timezone.now() + timedelta(seconds=61)
    assert services.notices_recover(now=later) == {"unknown": 1, "resent": 0, "requeued": 0}
    notice.refresh_from_db()
    assert notice.status == "unknown"
    assert len(_calls(fake_wechat, "o-lost")) == 1


def test_a_lost_template_notice_is_still_resent_when_another_kind_subscribes(
    make_follower, fake_wechat, template, monkeypatch
):
    NoticeTemplate.objects.create(
        kind="ticket_event", message_type="subscribe", template_id="SUB-T", field_mapping={}
    )
    follower = make_follower("o-lost-tpl", hours_ago=72)
    notice = _pending(follower)
    with monkeypatch.context() as patch:
        patch.setattr(services, "_settle", lambda *a, **k: (_ for _ in ()).throw(KeyError))
        with pytest.raises(KeyError):
            services.notices_deliver(notice_ids=[notice.pk])
    later = timezone.now() + timedelta(seconds=61)
    assert services.notices_recover(now=later)["resent"] == 1


def test_without_budget_no_subscribe_message_is_sent(make_follower, fake_wechat, subscribe):
    follower = make_follower("o-wait", hours_ago=72)
    notice = _pending(follower)
    throttle_back_off(60)
    outcome = _deliver(notice)
    assert (outcome.retry_ids, notice.status, notice.attempts) == ([notice.pk], "pending", 0)
    assert _calls(fake_wechat, "o-wait") == []


def test_embedded_mode_simulates_the_subscribe_message(
    make_follower, settings, subscribe, django_capture_on_commit_callbacks
):
    settings.WECHAT_APP_SECRET = ""
    follower = make_follower("o-sim", hours_ago=72)
    with django_capture_on_commit_callbacks(execute=True):
        notice = services.notice_send(
            kind="invoice_in_system", follower_id=follower.pk, text="已入库", idempotency_key="s"
        )
    notice.refresh_from_db()
    assert (notice.status, notice.channel) == ("simulated", "subscribe")
    message = Message.objects.get(follower=follower, direction="out")
    assert (message.delivery_status, message.text) == ("simulated", "已入库")


def test_an_inactive_subscribe_config_falls_back_to_the_default_template(
    make_follower, fake_wechat, subscribe, settings
):
    subscribe.active = False
    subscribe.save(update_fields=["active"])
    settings.NOTICES_DEFAULT_TEMPLATE_ID = "TPL-DEFAULT"
    notice = _pending(make_follower("o-off", hours_ago=72))
    _deliver(notice)
    assert (notice.status, notice.channel) == ("sent", "template")
    [call] = _calls(fake_wechat, "o-off")
    assert call.body["template_id"] == "TPL-DEFAULT"
