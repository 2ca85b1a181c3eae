"""/metrics through its URL: who may read it, and the figures moving with the traffic."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from bot.conversations.models import Follower
from bot.notices.models import NoticeKind
from bot.notices.services import notice_send
from bot.simulator.envelope import build_delivery, message_fields
from tests.support.backup_support import ROOT
from tickets.models import Queue, Ticket

pytestmark = pytest.mark.django_db

TOKEN = "scrape-token-0123456789"


@pytest.fixture
def scrape(client, settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_DB_CACHE_SECONDS = 0

    def read() -> dict[tuple[str, tuple], float]:
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        assert response.status_code == 200, response.content
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.content.decode())
            for s in family.samples
        }

    return read


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_anonymous_and_wrong_callers_are_refused(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = []
    assert client.get("/metrics").status_code == 403  # nothing configured: nobody reads it
    settings.METRICS_TOKEN = TOKEN
    anonymous = client.get("/metrics")
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"].startswith("Bearer")
    assert b"fapiao_" not in anonymous.content
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Token {TOKEN}").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


def test_the_allow_list_admits_its_addresses_only(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8", "192.0.2.7"]
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.7").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.8").status_code == 401
    assert client.get("/metrics").status_code == 401  # the test client is 127.0.0.1


def test_a_received_message_moves_the_webhook_and_nlu_counters(wechat, scrape):
    before = scrape()
    assert wechat.text("o-metrics-1", "发票查不到怎么办").status_code == 200
    after = scrape()
    requests = "fapiao_webhook_requests_total"
    assert value(after, requests, status="200") == value(before, requests, status="200") + 1
    count = "fapiao_webhook_latency_seconds_count"
    assert value(after, count) == value(before, count) + 1
    turns = sum(v for (n, _), v in after.items() if n == "fapiao_nlu_turns_total")
    assert turns == sum(v for (n, _), v in before.items() if n == "fapiao_nlu_turns_total") + 1


def test_rejections_are_counted_by_reason_and_repeats_as_dedup_hits(client, wechat, scrape):
    before = scrape()
    fields = message_fields(openid="o-metrics-2", msg_type="text", Content="你好")
    forged = build_delivery(fields, token="not-the-token")
    assert client.post(forged.path, forged.body, content_type="text/xml").status_code == 403
    delivery = build_delivery(fields)
    for _ in range(2):
        assert client.post(delivery.path, delivery.body, content_type="text/xml").status_code == 200
    after = scrape()
    name = "fapiao_webhook_rejections_total"
    assert (
        value(after, name, reason="BAD_SIGNATURE")
        == value(before, name, reason="BAD_SIGNATURE") + 1
    )
    hits = "fapiao_webhook_dedup_hits_total"
    assert value(after, hits, layer="cache") == value(before, hits, layer="cache") + 1
    assert (
        value(after, "fapiao_webhook_requests_total", status="403")
        == value(before, "fapiao_webhook_requests_total", status="403") + 1
    )


def test_a_failed_notice_moves_the_notices_counter(scrape, django_capture_on_commit_callbacks):
    gone = Follower.objects.create(
        openid="o-metrics-gone", subscribed=False, last_interaction_at=timezone.now()
    )
    before = scrape()
    with django_capture_on_commit_callbacks(execute=True):
        notice_send(
            kind=NoticeKind.BROADCAST, follower_id=gone.pk, text="通知", idempotency_key="m-1"
        )
    after = scrape()
    name = "fapiao_notices_total"
    failed_before = sum(
        v for (n, labels), v in before.items() if n == name and ("status", "failed") in labels
    )
    failed_after = sum(
        v for (n, labels), v in after.items() if n == name and ("status", "failed") in labels
    )
    assert failed_after == failed_before + 1


def test_verifications_are_counted_by_backend_and_result(client, scrape):
    from django.contrib.auth import get_user_model
    from knox.models import AuthToken

    user = get_user_model().objects.create_superuser("metrics-api", password="pw-m-1")
    before = scrape()
    body = {
        "invoice_code": "011002400211",
        "invoice_number": "99999999",
        "issue_date": (timezone.localdate() - timedelta(days=40)).isoformat(),
        "check_code": "123456",
    }
    response = client.post(
        "/api/invoices/verify/",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {AuthToken.objects.create(user=user)[1]}",
    )
    assert response.status_code == 200
    after = scrape()
    name = "fapiao_verifications_total"
    labels = {"backend": "ledger", "result": "not_found"}
    assert value(after, name, **labels) == value(before, name, **labels) + 1
    count = "fapiao_verification_upstream_seconds_count"
    assert value(after, count, backend="ledger") == value(before, count, backend="ledger") + 1


def test_open_tickets_and_sla_breaches_by_queue(scrape):
    queue = Queue.objects.order_by("pk").first()
    now = timezone.now()
    for i, breached in enumerate([None, now, None]):
        Ticket.objects.create(
            number=f"T-M-{i}",
            requester_ref=f"o-m-{i}",
            queue=queue,
            subject="查无此票",
            created_at=now,
            updated_at=now,
            resolution_breached_at=breached,
        )
    figures = scrape()
    assert value(figures, "fapiao_tickets_open", queue=queue.slug) == 3
    assert value(figures, "fapiao_tickets_sla_breached", queue=queue.slug) == 1
    assert value(figures, "fapiao_metrics_source_up", source="database") == 1


@pytest.mark.skipif(
    not django_settings.CELERY_BROKER_URL.startswith("redis"),
    reason="needs a Redis broker (CI's second run)",
)
def test_celery_queue_depth_is_read_from_the_broker(scrape, settings):
    import redis

    settings.METRICS_CELERY_QUEUES = ["h8-metrics-probe"]
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete("h8-metrics-probe", "h8-metrics-probe\x06\x163")
    broker.rpush("h8-metrics-probe", "a", "b")
    broker.rpush("h8-metrics-probe\x06\x163", "c")
    try:
        assert value(scrape(), "fapiao_celery_queue_length", queue="h8-metrics-probe") == 3
    finally:
        broker.delete("h8-metrics-probe", "h8-metrics-probe\x06\x163")


def test_multiprocess_mode_adds_up_every_process(client, settings, tmp_path, monkeypatch):
    """Two processes (as gunicorn workers would) count; one scrape sees both."""
    child = textwrap.dedent(
        """
        from support import metrics
        metrics.webhook_rejected("BAD_SIGNATURE")
        metrics.dedup_hit("cache")
        """
    )
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    for _ in range(2):
        subprocess.run([sys.executable, "-c", child], cwd=ROOT, env=env, check=True, timeout=60)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    settings.METRICS_TOKEN = TOKEN
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    text = response.content.decode()
    assert 'fapiao_webhook_rejections_total{reason="BAD_SIGNATURE"} 2.0' in text
    assert 'fapiao_webhook_dedup_hits_total{layer="cache"} 2.0' in text
    assert "fapiao_tickets_open" in text or "fapiao_metrics_source_up" in text
