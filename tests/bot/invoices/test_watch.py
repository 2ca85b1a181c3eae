"""Watching a not-yet-uploaded invoice: beat re-checks, backoff, the push, expiry, the command."""

import datetime
from io import StringIO

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.utils import timezone

from bot.conversations.models import Message
from bot.invoices import watching
from bot.invoices.models import InvoiceWatch, LedgerInvoice, VerificationRecord
from bot.invoices.services import invoice_check
from bot.invoices.tasks import invoice_watches_recheck_due
from support.celery import app
from tests.bot.invoices.verify_support import (
    days_ago,
    ledger_row,
    ordinary_fields,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def watched(follower):
    """A follower checked an invoice the seller has not uploaded yet."""
    fields = ordinary_fields(issue_date=days_ago(1))
    ledger_row(fields, uploaded_at=None)
    outcome = invoice_check(follower_id=follower.pk, fields=fields)
    return InvoiceWatch.objects.get(pk=outcome.watch_id)


def _make_due(watch, **extra):
    InvoiceWatch.objects.filter(pk=watch.pk).update(
        next_check_at=timezone.now() - datetime.timedelta(seconds=1), **extra
    )


def _upload():
    LedgerInvoice.objects.update(uploaded_at=timezone.now() - datetime.timedelta(minutes=1))


def _watch_records():
    return VerificationRecord.objects.filter(source=VerificationRecord.Source.WATCH)


def test_a_new_watch_waits_and_ends_within_the_window(watched):
    now = timezone.now()
    first = datetime.timedelta(minutes=django_settings.INVOICE_WATCH_FIRST_DELAY_MINUTES)
    assert now < watched.next_check_at <= now + first
    window = datetime.timedelta(days=django_settings.INVOICE_WATCH_DAYS)
    assert now + window - datetime.timedelta(minutes=1) < watched.expires_at <= now + window


def test_beat_skips_watches_that_are_not_due(watched):
    assert invoice_watches_recheck_due() == 0
    assert not _watch_records().exists()


def test_found_after_upload_pushes_a_notice_naming_the_invoice(
    watched, fake_wechat, django_capture_on_commit_callbacks
):
    _upload()
    _make_due(watched)
    with django_capture_on_commit_callbacks(execute=True):
        assert invoice_watches_recheck_due() == 1
    watched.refresh_from_db()
    assert watched.status == InvoiceWatch.Status.FOUND
    assert watched.attempts == 1
    assert watched.last_result == "valid"
    assert watched.last_record.source == VerificationRecord.Source.WATCH
    [call] = fake_wechat.calls("/cgi-bin/message/custom/send")
    text = call.body["text"]["content"]
    assert call.body["touser"] == "o-invoice"
    assert "12345678" in text and "011002400211" in text
    assert "一致" in text
    # Found watches are never re-checked.
    _make_due(watched)
    assert invoice_watches_recheck_due() == 0


def test_still_missing_backs_off(watched, settings):
    settings.WECHAT_APP_SECRET = ""
    delays = []
    for _ in range(3):
        _make_due(watched)
        before = timezone.now()
        invoice_watches_recheck_due()
        watched.refresh_from_db()
        delays.append((watched.next_check_at - before).total_seconds() / 60)
    assert watched.status == InvoiceWatch.Status.ACTIVE
    assert watched.attempts == 3
    assert watched.last_result == "not_found"
    first = settings.INVOICE_WATCH_FIRST_DELAY_MINUTES
    assert [round(d) for d in delays] == [first, first * 2, first * 4]
    assert not Message.objects.filter(direction="out").exists()


def test_backoff_is_capped(settings):
    settings.INVOICE_WATCH_FIRST_DELAY_MINUTES = 30
    settings.INVOICE_WATCH_MAX_DELAY_MINUTES = 360
    minutes = [watching.watch_backoff(n).total_seconds() / 60 for n in range(1, 8)]
    assert minutes == [30, 60, 120, 240, 360, 360, 360]


def test_watch_checks_stay_within_the_daily_quota(watched, settings):
    settings.WECHAT_APP_SECRET = ""
    settings.INVOICE_WATCH_CHECKS_PER_DAY = 2
    for _ in range(3):
        _make_due(watched)
        invoice_watches_recheck_due()
    assert _watch_records().count() == 2
    watched.refresh_from_db()
    local = timezone.localtime(watched.next_check_at)
    assert local.date() == timezone.localdate() + datetime.timedelta(days=1)
    assert local.hour == watching.MORNING_HOUR


def test_the_followers_own_checks_leave_no_room(watched, settings):
    settings.WECHAT_APP_SECRET = ""
    fields = ordinary_fields(issue_date=days_ago(1))
    for _ in range(4):  # one check was made when the watch started
        invoice_check(follower_id=watched.follower_id, fields=fields)
    _make_due(watched)
    invoice_watches_recheck_due()
    assert not _watch_records().exists()


def test_expiry_tells_the_follower_and_escalates_once(
    watched, fake_wechat, monkeypatch, django_capture_on_commit_callbacks
):
    escalated = []
    monkeypatch.setattr(
        watching, "watch_expired_escalate", lambda *, watch: escalated.append(watch.pk)
    )
    _make_due(watched, expires_at=timezone.now() - datetime.timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        invoice_watches_recheck_due()
    watched.refresh_from_db()
    assert watched.status == InvoiceWatch.Status.EXPIRED
    assert watched.ended_at is not None
    assert escalated == [watched.pk]
    [call] = fake_wechat.calls("/cgi-bin/message/custom/send")
    assert "12345678" in call.body["text"]["content"]
    assert "仍未" in call.body["text"]["content"]
    _make_due(watched)
    invoice_watches_recheck_due()
    assert escalated == [watched.pk]


def test_found_at_the_last_check_is_not_expired(watched, settings):
    settings.WECHAT_APP_SECRET = ""
    _upload()
    _make_due(watched, expires_at=timezone.now() - datetime.timedelta(seconds=1))
    invoice_watches_recheck_due()
    watched.refresh_from_db()
    assert watched.status == InvoiceWatch.Status.FOUND


def test_issued_today_is_first_rechecked_the_next_morning(follower):
    outcome = invoice_check(follower_id=follower.pk, fields=ordinary_fields(issue_date=days_ago(0)))
    watch = InvoiceWatch.objects.get(pk=outcome.watch_id)
    local = timezone.localtime(watch.next_check_at)
    assert local.date() == timezone.localdate() + datetime.timedelta(days=1)
    assert local.hour == watching.MORNING_HOUR


def test_command_rechecks_every_active_watch_now(watched, settings):
    settings.WECHAT_APP_SECRET = ""
    _upload()
    out = StringIO()
    call_command("invoice_recheck", "--all", stdout=out)
    watched.refresh_from_db()
    assert watched.status == InvoiceWatch.Status.FOUND
    assert "re-checked 1 watches: found 1" in out.getvalue()
    out = StringIO()
    call_command("invoice_recheck", "--due", stdout=out)
    assert "re-checked 0 watches" in out.getvalue()


def test_an_answer_the_follower_got_themselves_ends_the_watch(watched):
    _upload()
    outcome = invoice_check(
        follower_id=watched.follower_id, fields=ordinary_fields(issue_date=days_ago(1))
    )
    assert outcome.diagnosis.value == "valid"
    watched.refresh_from_db()
    assert watched.status == InvoiceWatch.Status.FOUND
    _make_due(watched)
    assert invoice_watches_recheck_due() == 0


def test_a_follower_who_left_is_not_watched_for(watched):
    watched.follower.subscribed = False
    watched.follower.save(update_fields=["subscribed"])
    _make_due(watched)
    invoice_watches_recheck_due()
    watched.refresh_from_db()
    assert watched.status == InvoiceWatch.Status.CANCELLED
    assert not _watch_records().exists()
    assert not Message.objects.filter(direction="out").exists()


def test_cancelled_watch_is_left_alone(watched):
    assert watching.invoice_watch_cancel(watch_id=watched.pk)
    assert not watching.invoice_watch_cancel(watch_id=watched.pk)
    _make_due(watched)
    assert invoice_watches_recheck_due() == 0


def test_beat_schedule_names_a_registered_task():
    entry = django_settings.CELERY_BEAT_SCHEDULE["invoice-watches-recheck"]
    app.loader.import_default_modules()
    assert entry["task"] in app.tasks
    assert entry["schedule"] > 0


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_beat_task_on_a_real_worker_pushes_the_notice(celery_worker_process, fake_wechat_server):
    import time

    from bot.conversations.models import Follower

    # Inside the 48-hour window: the notice goes out as a customer-service message.
    follower = Follower.objects.create(
        openid="o-watch-worker", subscribed=True, last_interaction_at=timezone.now()
    )
    fields = ordinary_fields(invoice_number="77778888", issue_date=days_ago(1))
    ledger_row(fields, uploaded_at=None)
    watch = InvoiceWatch.objects.get(
        pk=invoice_check(follower_id=follower.pk, fields=fields).watch_id
    )
    _upload()
    _make_due(watch)
    invoice_watches_recheck_due.delay()

    def notified():
        return [
            c
            for c in fake_wechat_server.calls("/cgi-bin/message/custom/send")
            if c.body["touser"] == "o-watch-worker"
        ]

    deadline = time.monotonic() + 30
    while not notified() and time.monotonic() < deadline:
        time.sleep(0.1)
    [call] = notified()
    assert "77778888" in call.body["text"]["content"]
    watch.refresh_from_db()
    assert watch.status == InvoiceWatch.Status.FOUND
    # The worker records the delivery after the call: let it finish before the test's
    # flush (a TRUNCATE) runs, or the two deadlock.
    from support.celery import app

    while time.monotonic() < deadline + 15:
        active = app.control.inspect(timeout=1).active() or {}
        if not any(active.values()):
            break
        time.sleep(0.2)


# -- the help desk and the notice service ----------------------------------------------------
def _expire_now(watch):
    _make_due(watch, expires_at=timezone.now() - datetime.timedelta(seconds=1))


def test_expiry_opens_one_sync_delay_ticket_with_the_invoice(
    watched, fake_wechat, django_capture_on_commit_callbacks
):
    from bot.notices.models import Notice
    from tickets.models import Ticket

    _expire_now(watched)
    with django_capture_on_commit_callbacks(execute=True):
        invoice_watches_recheck_due()
    ticket = Ticket.objects.get(requester_ref="o-invoice")
    assert (ticket.escalation_reason, ticket.category) == ("watch_expired", "sync_delay")
    [invoice] = ticket.invoices
    assert (invoice["number"], invoice["code"]) == ("12345678", "011002400211")
    assert invoice["result"] == "查无此票" and invoice["diagnosis"]["cause"]
    assert invoice["history"] and all(h["result"] == "查无此票" for h in invoice["history"])
    ended = Notice.objects.get(kind="invoice_watch_ended")
    assert ended.idempotency_key == f"invoice-watch:{watched.pk}:ended"
    assert "12345678" in ended.text and ended.status == Notice.Status.SENT
    created = Notice.objects.get(kind="ticket_event")
    assert ticket.number in created.text
    texts = [c.body["text"]["content"] for c in fake_wechat.calls("/cgi-bin/message/custom/send")]
    assert len(texts) == 2 and any(ticket.number in t for t in texts)


def test_a_retried_expiry_task_escalates_and_tells_once(
    watched, fake_wechat, django_capture_on_commit_callbacks
):
    from bot.invoices.tasks import invoice_watch_recheck
    from bot.notices.models import Notice
    from tickets.models import Ticket

    _expire_now(watched)
    with django_capture_on_commit_callbacks(execute=True):
        invoice_watch_recheck.apply(args=[watched.pk])
        invoice_watch_recheck.apply(args=[watched.pk])  # redelivered (acks_late)
    with django_capture_on_commit_callbacks(execute=True):
        watching.invoice_watch_recheck(watch_id=watched.pk, force=True)
    assert Ticket.objects.filter(requester_ref="o-invoice").count() == 1
    assert Notice.objects.filter(kind="invoice_watch_ended").count() == 1
    assert len(fake_wechat.calls("/cgi-bin/message/custom/send")) == 2


def test_expiry_with_an_open_ticket_adds_the_invoice_to_it(
    watched, settings, django_capture_on_commit_callbacks
):
    from tickets import services
    from tickets.models import Ticket

    settings.WECHAT_APP_SECRET = ""
    open_ticket = services.ticket_escalate(
        requester_ref="o-invoice", category="human_agent", reason="asked", text="转人工"
    ).ticket
    _expire_now(watched)
    with django_capture_on_commit_callbacks(execute=True):
        invoice_watches_recheck_due()
    ticket = Ticket.objects.get()
    assert ticket.pk == open_ticket.pk
    assert [i["number"] for i in ticket.invoices] == ["12345678"]


def test_the_found_push_is_one_notice_per_watch(watched, fake_wechat):
    from bot.notices.models import Notice

    _upload()
    _make_due(watched)
    invoice_watches_recheck_due()
    notice = Notice.objects.get()
    assert notice.kind == "invoice_in_system"
    assert notice.idempotency_key == f"invoice-watch:{watched.pk}:found"
    # A second push of the same event (e.g. after a crash between send and commit) is the same.
    watched.refresh_from_db()
    watching.watch_notice_push(watch=watched, text="again", event="found")
    assert Notice.objects.get().pk == notice.pk


def test_a_found_push_outside_48_hours_uses_the_kinds_template(
    watched, fake_wechat, django_capture_on_commit_callbacks
):
    from bot.notices.models import NoticeTemplate

    NoticeTemplate.objects.create(
        kind="invoice_in_system", template_id="TPL-FOUND", field_mapping={"thing1": "{text}"}
    )
    watched.follower.last_interaction_at = timezone.now() - datetime.timedelta(hours=49)
    watched.follower.save(update_fields=["last_interaction_at"])
    _upload()
    _make_due(watched)
    with django_capture_on_commit_callbacks(execute=True):
        invoice_watches_recheck_due()
    assert not fake_wechat.calls("/cgi-bin/message/custom/send")
    [call] = fake_wechat.calls("/cgi-bin/message/template/send")
    assert call.body["template_id"] == "TPL-FOUND"
    assert "12345678" in call.body["data"]["thing1"]["value"]


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_expiry_on_a_real_worker_escalates_once_when_the_task_runs_twice(
    celery_worker_process, fake_wechat_server
):
    import importlib
    import time

    from django.apps import apps as django_apps

    from bot.conversations.models import Follower
    from bot.invoices.tasks import invoice_watch_recheck
    from bot.notices.models import Notice
    from tickets.models import Ticket

    # Transactional tests start from a flushed database: the help desk's seeded queues first.
    importlib.import_module("tickets.migrations.0002_seed").seed(django_apps, None)
    follower = Follower.objects.create(
        openid="o-expire-worker", subscribed=True, last_interaction_at=timezone.now()
    )
    fields = ordinary_fields(invoice_number="55556666", issue_date=days_ago(1))
    ledger_row(fields, uploaded_at=None)
    watch = InvoiceWatch.objects.get(
        pk=invoice_check(follower_id=follower.pk, fields=fields).watch_id
    )
    _expire_now(watch)
    invoice_watch_recheck.delay(watch.pk)
    invoice_watch_recheck.delay(watch.pk)  # a duplicate delivery of the same task

    def pushed():
        return [
            c
            for c in fake_wechat_server.calls("/cgi-bin/message/custom/send")
            if c.body["touser"] == "o-expire-worker"
        ]

    deadline = time.monotonic() + 30
    while len(pushed()) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1)  # room for a wrong third push to arrive
    ticket = Ticket.objects.get(requester_ref="o-expire-worker")
    assert ticket.escalation_reason == "watch_expired"
    assert [i["number"] for i in ticket.invoices] == ["55556666"]
    assert Notice.objects.filter(follower=follower, kind="invoice_watch_ended").count() == 1
    texts = [c.body["text"]["content"] for c in pushed()]
    assert len(texts) == 2 and any(ticket.number in t for t in texts)


def _tomorrow_morning():
    day = timezone.localdate() + datetime.timedelta(days=1)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(watching.MORNING_HOUR)))


def test_a_recheck_asked_for_tomorrow_starts_a_watch_due_in_the_morning(follower):
    fields = ordinary_fields(issue_date=days_ago(3))
    watch = watching.invoice_watch_tomorrow(follower_id=follower.pk, fields=fields)
    assert watch.status == InvoiceWatch.Status.ACTIVE
    assert watch.next_check_at == _tomorrow_morning()
    assert watch.expires_at > watch.next_check_at


def test_a_recheck_asked_for_tomorrow_brings_a_later_watch_forward_and_keeps_a_sooner_one(
    watched,
):
    soon = watched.next_check_at  # within the first delay: sooner than tomorrow morning
    fields = ordinary_fields(issue_date=watched.issue_date)
    again = watching.invoice_watch_tomorrow(follower_id=watched.follower_id, fields=fields)
    assert again.pk == watched.pk and again.next_check_at == soon
    later = _tomorrow_morning() + datetime.timedelta(days=1)
    InvoiceWatch.objects.filter(pk=watched.pk).update(next_check_at=later, expires_at=later)
    again = watching.invoice_watch_tomorrow(follower_id=watched.follower_id, fields=fields)
    assert again.next_check_at == _tomorrow_morning()
    assert InvoiceWatch.objects.filter(status=InvoiceWatch.Status.ACTIVE).count() == 1


def test_a_recheck_asked_for_tomorrow_outlives_a_watch_ending_tonight(watched):
    tonight = timezone.now() + datetime.timedelta(minutes=5)
    InvoiceWatch.objects.filter(pk=watched.pk).update(expires_at=tonight)
    fields = ordinary_fields(issue_date=watched.issue_date)
    again = watching.invoice_watch_tomorrow(follower_id=watched.follower_id, fields=fields)
    assert again.expires_at > _tomorrow_morning() >= again.next_check_at
