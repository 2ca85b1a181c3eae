"""invoice_check records every call; queued checks push their answer to WeChat."""

import datetime
from decimal import Decimal

import pytest

from bot.conversations.models import Message
from bot.invoices.diagnosis import Diagnosis
from bot.invoices.models import DailyCheckCount, InvoiceWatch, Result, VerificationRecord
from bot.invoices.services import invoice_check, invoice_check_push_run, invoice_check_queue
from bot.invoices.verification import verification_is_fast
from bot.notices.models import Notice
from tests.bot.invoices.fake_backends import FIXED_PATH, FixedBackend
from tests.bot.invoices.verify_support import (
    CODE_ORDINARY,
    days_ago,
    digital_fields,
    ledger_row,
    ordinary_fields,
)
from tests.concurrency import run_together, wait_for

pytestmark = pytest.mark.django_db


def test_every_check_is_recorded(follower):
    fields = ordinary_fields()
    ledger_row(fields)
    outcome = invoice_check(follower_id=follower.pk, fields=fields)
    record = VerificationRecord.objects.get(pk=outcome.record_id)
    assert record.follower == follower
    assert (record.invoice_code, record.invoice_number) == (CODE_ORDINARY, "12345678")
    assert record.issue_date == fields.issue_date
    assert record.check_code == "567890"
    assert record.kind == "electronic_ordinary"
    assert record.region == "北京"
    assert record.backend == "ledger"
    assert record.result == Result.VALID
    assert record.diagnosis == Diagnosis.VALID
    assert record.latency_ms is not None
    assert record.details["attempts"] == [{"backend": "ledger", "result": "valid", "error": ""}]
    assert record.source == VerificationRecord.Source.DIALOG


def test_rule_stops_are_recorded_without_a_backend_or_a_count():
    outcome = invoice_check(follower_id=None, fields=ordinary_fields(issue_date=days_ago(0)))
    record = VerificationRecord.objects.get(pk=outcome.record_id)
    assert record.backend == "rules"
    assert record.result == Result.ISSUED_TODAY
    assert record.follower is None
    assert not DailyCheckCount.objects.exists()


def test_calls_are_counted_per_invoice_and_day():
    invoice_check(follower_id=None, fields=ordinary_fields())
    invoice_check(follower_id=None, fields=ordinary_fields())
    invoice_check(follower_id=None, fields=ordinary_fields(invoice_number="99990000"))
    counts = dict(DailyCheckCount.objects.values_list("invoice_number", "count"))
    assert counts == {"12345678": 2, "99990000": 1}


def test_a_kind_from_the_qr_code_wins_and_a_full_check_code_is_cut(settings):
    FixedBackend.answers = [Result.VALID]
    FixedBackend.requests = []
    settings.INVOICE_VERIFY_BACKENDS = [FIXED_PATH]
    fields = digital_fields(kind="digital_ordinary", check_code="12345678901234567890")
    invoice_check(follower_id=None, fields=fields)
    [request] = FixedBackend.requests
    assert request.kind == "digital_ordinary"
    assert request.check_code == "567890"
    assert request.invoice_code == ""
    assert request.amount == Decimal("1060.00")


def test_not_uploaded_starts_a_watch_for_a_follower(follower):
    fields = ordinary_fields(issue_date=days_ago(1))
    ledger_row(fields, uploaded_at=None)
    outcome = invoice_check(follower_id=follower.pk, fields=fields)
    watch = InvoiceWatch.objects.get(pk=outcome.watch_id)
    assert watch.follower == follower
    assert watch.status == InvoiceWatch.Status.ACTIVE
    assert watch.check_code == "567890"
    assert "第一时间通知您" in outcome.reply
    again = invoice_check(follower_id=follower.pk, fields=fields)
    assert again.watch_id == watch.pk
    assert InvoiceWatch.objects.count() == 1


def test_no_watch_without_a_follower():
    outcome = invoice_check(follower_id=None, fields=ordinary_fields(issue_date=days_ago(1)))
    assert outcome.should_watch and outcome.watch_id is None
    assert "第一时间通知您" not in outcome.reply
    assert not InvoiceWatch.objects.exists()


def test_queued_check_pushes_its_answer(follower, fake_wechat, django_capture_on_commit_callbacks):
    fields = ordinary_fields()
    ledger_row(fields)
    with django_capture_on_commit_callbacks(execute=True):
        record = invoice_check_queue(follower_id=follower.pk, fields=fields)
    record.refresh_from_db()
    assert record.result == Result.VALID
    [call] = fake_wechat.calls("/cgi-bin/message/custom/send")
    assert call.body["touser"] == "o-invoice"
    assert "一致" in call.body["text"]["content"]
    # The answer is a notice (the one push pipeline), mirrored as an outbound Message.
    notice = Notice.objects.get(follower=follower)
    assert (notice.kind, notice.idempotency_key, notice.status) == (
        "invoice_check_result",
        f"invoice-check:{record.pk}",
        "sent",
    )
    assert Message.objects.get(direction="out", notice=notice).delivery_status == "sent"


def test_a_quiet_follower_gets_the_answer_as_the_kinds_template(
    follower, fake_wechat, django_capture_on_commit_callbacks
):
    from bot.notices.models import NoticeTemplate

    NoticeTemplate.objects.create(
        kind="invoice_check_result", template_id="TPL-CHECK", field_mapping={"thing1": "{text}"}
    )
    follower.last_interaction_at = None
    follower.save(update_fields=["last_interaction_at"])
    fields = ordinary_fields()
    ledger_row(fields)
    with django_capture_on_commit_callbacks(execute=True):
        invoice_check_queue(follower_id=follower.pk, fields=fields)
    assert fake_wechat.calls("/cgi-bin/message/custom/send") == []
    [call] = fake_wechat.calls("/cgi-bin/message/template/send")
    assert call.body["template_id"] == "TPL-CHECK"


def test_a_queued_check_runs_once(follower, settings, django_capture_on_commit_callbacks):
    settings.WECHAT_APP_SECRET = ""
    fields = ordinary_fields()
    ledger_row(fields)
    record = VerificationRecord.objects.create(
        follower=follower,
        invoice_code=CODE_ORDINARY,
        invoice_number="12345678",
        issue_date=fields.issue_date,
        check_code="567890",
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert invoice_check_push_run(record_id=record.pk).diagnosis is Diagnosis.VALID
        assert invoice_check_push_run(record_id=record.pk) is None
    assert Notice.objects.get().status == "simulated"
    assert Message.objects.filter(direction="out").count() == 1
    assert DailyCheckCount.objects.get().count == 1


def test_verification_is_fast_only_with_local_backends(settings):
    settings.INVOICE_VERIFY_BACKENDS = ["ledger"]
    assert verification_is_fast()
    settings.INVOICE_VERIFY_BACKENDS = ["ledger", FIXED_PATH]
    assert not verification_is_fast()


def test_check_query_count(django_assert_max_num_queries, follower):
    fields = ordinary_fields()
    ledger_row(fields)
    with django_assert_max_num_queries(12):
        invoice_check(follower_id=follower.pk, fields=fields)


def test_garbage_fields_get_an_answer_not_a_crash():
    from bot.invoices.extraction import InvoiceFields

    for fields in (
        InvoiceFields(),
        InvoiceFields(invoice_code="abc", invoice_number="x" * 20),
        InvoiceFields(invoice_number="9" * 20, issue_date=datetime.date(1999, 1, 1)),
        InvoiceFields(invoice_code="0" * 12, invoice_number="0" * 8, issue_date=days_ago(3)),
        InvoiceFields(invoice_code="1" * 15, invoice_number="2" * 25, issue_date=days_ago(3)),
        InvoiceFields(invoice_number="２４１１７０００００", check_code="x" * 40),
    ):
        outcome = invoice_check(follower_id=None, fields=fields)
        assert outcome.reply
        assert outcome.result in (Result.BAD_INPUT, Result.TOO_OLD)


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_worker_runs_a_queued_check_and_pushes(celery_worker_process, fake_wechat_server):
    from django.utils import timezone

    from bot.conversations.models import Follower

    follower = Follower.objects.create(
        openid="o-inv-worker", subscribed=True, last_interaction_at=timezone.now()
    )
    fields = ordinary_fields(invoice_number="55556666")
    ledger_row(fields)
    record = invoice_check_queue(follower_id=follower.pk, fields=fields)

    def pushed():
        return any(
            c.body["touser"] == "o-inv-worker"
            for c in fake_wechat_server.calls("/cgi-bin/message/custom/send")
        )

    assert wait_for(pushed)
    record.refresh_from_db()
    assert record.result == Result.VALID
    [call] = [
        c
        for c in fake_wechat_server.calls("/cgi-bin/message/custom/send")
        if c.body["touser"] == "o-inv-worker"
    ]
    assert "一致" in call.body["text"]["content"]


def test_checking_reply_is_chinese():
    from bot.invoices.diagnosis import checking_reply

    assert "正在查询" in checking_reply()


def test_results_by_region_for_incident_detection():
    from django.utils import timezone

    from bot.invoices.selectors import verification_results_by_region

    since = timezone.now() - datetime.timedelta(minutes=1)
    invoice_check(follower_id=None, fields=ordinary_fields())
    invoice_check(follower_id=None, fields=ordinary_fields(invoice_number="11112222"))
    invoice_check(follower_id=None, fields=ordinary_fields(invoice_code="031002400211"))
    rows = verification_results_by_region(since=since)
    assert {(r["region"], r["result"]): r["count"] for r in rows} == {
        ("北京", "not_found"): 2,
        ("上海", "bad_input"): 1,
    }


@pytest.mark.django_db(transaction=True)
def test_concurrent_checks_never_exceed_the_daily_limit():
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (DATABASE_URL)")
    fields = ordinary_fields()
    ledger_row(fields)
    outcomes = run_together(8, lambda i: invoice_check(follower_id=None, fields=fields))
    diagnoses = sorted(o.diagnosis.value for o in outcomes)
    assert diagnoses == ["check_limit"] * 3 + ["valid"] * 5
    assert DailyCheckCount.objects.get().count == 5
    assert VerificationRecord.objects.filter(backend="ledger").count() == 5
