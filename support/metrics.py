"""Figures for the operator: the Prometheus endpoint `/metrics` and what feeds it.

Two kinds of figures:

- **events counted where they happen** (prometheus-client counters and histograms):
  the webhook's requests, latency and rejections, dedup hits, the NLU's action per turn,
  verification results and latency. The apps call the one-line helpers below. Under
  gunicorn (several worker processes) and Celery, set `PROMETHEUS_MULTIPROC_DIR` to a
  directory shared by the web and worker processes of the machine (emptied at boot):
  prometheus-client then keeps each process's values in a file there and `/metrics`
  adds them up (multiprocess mode, docs/operations.md).
- **state read at scrape time** from the database and the broker (custom collectors):
  notices by status and channel, open tickets and SLA breaches by queue, Celery queue
  depth. They are cached for `METRICS_DB_CACHE_SECONDS` so several scrapers cost one
  set of queries. `support` imports no app (tests/test_architecture.py): the models are
  looked up by label through the app registry when a scrape runs.

`/metrics` answers only a scraper holding `METRICS_TOKEN` (`Authorization: Bearer …`)
or coming from an address of `METRICS_ALLOWED_IPS`; anyone else gets 401/403.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import os
import secrets
import time
from importlib import import_module

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

logger = logging.getLogger(__name__)

# --- counted where they happen -----------------------------------------------------

WEBHOOK_REQUESTS = Counter(
    "fapiao_webhook_requests", "WeChat webhook POSTs handled, by HTTP status", ["status"]
)
WEBHOOK_LATENCY = Histogram(
    "fapiao_webhook_latency_seconds",
    "Time to answer one WeChat webhook POST (WeChat gives up after 5 s)",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 10.0),
)
WEBHOOK_REJECTIONS = Counter(
    "fapiao_webhook_rejections", "Webhook requests refused, by reason", ["reason"]
)
DEDUP_HITS = Counter(
    "fapiao_webhook_dedup_hits",
    "Repeated deliveries answered from the first one (cache claim or database backstop)",
    ["layer"],
)
NLU_TURNS = Counter(
    "fapiao_nlu_turns",
    "Turns the NLU understood, by action (answer, clarify, oos, offer_human, empty)",
    ["action"],
)
VERIFICATIONS = Counter(
    "fapiao_verifications",
    "Verification backend answers, by backend and result",
    ["backend", "result"],
)
VERIFICATION_LATENCY = Histogram(
    "fapiao_verification_upstream_seconds",
    "Time of one verification through the backend chain, by the backend that answered",
    ["backend"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0),
)


def _value(member) -> str:
    return str(getattr(member, "value", member) or "none")


def webhook_observed(handler):
    """Decorate the webhook's handler: count its requests by status and time them."""

    @functools.wraps(handler)
    def observed(*args, **kwargs):
        started = time.perf_counter()
        status = "500"  # what Django answers when the handler raises
        try:
            result = handler(*args, **kwargs)
            status = str(getattr(result, "status", ""))
            return result
        finally:
            WEBHOOK_LATENCY.observe(time.perf_counter() - started)
            WEBHOOK_REQUESTS.labels(status=status).inc()

    return observed


def webhook_rejected(reason) -> None:
    WEBHOOK_REJECTIONS.labels(reason=getattr(reason, "name", None) or str(reason)).inc()


def dedup_hit(layer: str) -> None:
    DEDUP_HITS.labels(layer=layer).inc()


def nlu_understood(reply) -> None:
    """Count the NLU's action of one turn (nothing when the NLU did not run)."""
    if reply is not None:
        NLU_TURNS.labels(action=_value(reply.action)).inc()


def verification_observed(chain) -> None:
    """Count each backend's answer of one chain and time the chain."""
    if chain is None:
        return
    for attempt in chain.attempts:
        VERIFICATIONS.labels(backend=attempt.backend or "none", result=_value(attempt.result)).inc()
    VERIFICATION_LATENCY.labels(backend=chain.final.backend or "none").observe(
        chain.latency_ms / 1000
    )


# --- read at scrape time -------------------------------------------------------------

_DB_CACHE_KEY = "metrics:db:v1"


def _model(label: str):
    try:
        return apps.get_model(label)
    except LookupError:
        return None


def _database_figures() -> dict:
    """Rows counted now: notices by status and channel, tickets by queue."""
    figures: dict = {"notices": [], "tickets_open": [], "tickets_breached": []}
    notice = _model("notices.Notice")
    if notice is not None:
        rows = notice.objects.order_by().values_list("status", "channel").annotate(n=Count("id"))
        figures["notices"] = [list(row) for row in rows]
    ticket = _model("tickets.Ticket")
    if ticket is not None:
        # The breach rule lives once, next to the model (`sla_breached_q`); support may not
        # import tickets, so it is read from the model's module through the app registry.
        breached_q = import_module(ticket.__module__).sla_breached_q()
        active = ticket.objects.order_by().filter(
            status__in=ticket.ACTIVE_STATUSES, merged_into__isnull=True
        )
        rows = active.values_list("queue__slug").annotate(
            n=Count("id"), breached=Count("id", filter=breached_q)
        )
        for slug, n, breached in rows:
            figures["tickets_open"].append([slug, n])
            figures["tickets_breached"].append([slug, breached])
    return figures


_PRIORITY_SEP = "\x06\x16"  # kombu's Redis transport: one list per priority step
_PRIORITY_STEPS = (3, 6, 9)


def _celery_queue_lengths() -> list[tuple[str, int]] | None:
    """LLEN of each Celery queue on a Redis broker; None when the broker is not Redis."""
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://", "unix://")):
        return None
    import redis

    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    try:
        queues = list(settings.METRICS_CELERY_QUEUES)
        pipe = client.pipeline(transaction=False)
        for name in queues:
            pipe.llen(name)
            for step in _PRIORITY_STEPS:
                pipe.llen(f"{name}{_PRIORITY_SEP}{step}")
        lengths = pipe.execute()
    finally:
        client.close()
    per = 1 + len(_PRIORITY_STEPS)
    return [(name, sum(lengths[i * per : (i + 1) * per])) for i, name in enumerate(queues)]


class StateCollector:
    """The figures read from the database and the broker when Prometheus scrapes."""

    def collect(self):
        up = GaugeMetricFamily(
            "fapiao_metrics_source_up",
            "Whether the scrape could read a source (database, broker)",
            labels=["source"],
        )
        figures = None
        seconds = settings.METRICS_DB_CACHE_SECONDS
        try:
            figures = cache.get(_DB_CACHE_KEY) if seconds else None
            if figures is None:
                figures = _database_figures()
                if seconds:
                    cache.set(_DB_CACHE_KEY, figures, timeout=seconds)
            up.add_metric(["database"], 1)
        except Exception:
            logger.exception("metrics: reading the database failed")
            up.add_metric(["database"], 0)
        if figures is not None:
            yield from _database_families(figures)
        try:
            lengths = _celery_queue_lengths()
            up.add_metric(["broker"], 1)
        except Exception:
            logger.exception("metrics: reading the broker failed")
            lengths = None
            up.add_metric(["broker"], 0)
        if lengths is not None:
            depth = GaugeMetricFamily(
                "fapiao_celery_queue_length", "Tasks waiting in a Celery queue", labels=["queue"]
            )
            for name, length in lengths:
                depth.add_metric([name], length)
            yield depth
        yield up


_OPEN_NOTICE_STATUSES = ("pending", "sending")


def _database_families(figures: dict):
    done = CounterMetricFamily(
        "fapiao_notices",
        "Notices that reached an end (sent, simulated, failed, unknown, cancelled), "
        "by status and channel",
        labels=["status", "channel"],
    )
    waiting = GaugeMetricFamily(
        "fapiao_notices_open", "Notices waiting or being sent, by status", labels=["status"]
    )
    open_counts: dict[str, int] = dict.fromkeys(_OPEN_NOTICE_STATUSES, 0)
    for status, channel, n in figures["notices"]:
        if status in open_counts:
            open_counts[status] += n
        else:
            done.add_metric([status, channel or "none"], n)
    for status, n in open_counts.items():
        waiting.add_metric([status], n)
    yield done
    yield waiting
    tickets = GaugeMetricFamily(
        "fapiao_tickets_open", "Active tickets (new, open, pending), by queue", labels=["queue"]
    )
    for slug, n in figures["tickets_open"]:
        tickets.add_metric([slug], n)
    yield tickets
    breached = GaugeMetricFamily(
        "fapiao_tickets_sla_breached",
        "Active tickets with an SLA breach recorded, by queue",
        labels=["queue"],
    )
    for slug, n in figures["tickets_breached"]:
        breached.add_metric([slug], n)
    yield breached


class _ThisProcess:
    """The default registry's metrics, when not in multiprocess mode."""

    def collect(self):
        yield from REGISTRY.collect()


def _multiprocess_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get(
        "prometheus_multiproc_dir", ""
    )


def registry_for_scrape() -> CollectorRegistry:
    """A registry holding every process's counters and the state read now."""
    registry = CollectorRegistry(auto_describe=False)
    if _multiprocess_dir():
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(StateCollector())
    return registry


# --- the endpoint ------------------------------------------------------------------


def _address_allowed(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for allowed in settings.METRICS_ALLOWED_IPS:
        try:
            if ip in ipaddress.ip_network(allowed, strict=False):
                return True
        except ValueError:
            logger.warning("METRICS_ALLOWED_IPS: %r is not an address or network", allowed)
    return False


def scrape_refusal(request: HttpRequest) -> HttpResponse | None:
    """None when the caller may read the figures, else the response that refuses it."""
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer "):
        if secrets.compare_digest(header[len("Bearer ") :].encode(), token.encode()):
            return None
        return HttpResponse("invalid token\n", status=403, content_type="text/plain")
    if settings.METRICS_ALLOWED_IPS and _address_allowed(request.META.get("REMOTE_ADDR", "")):
        return None
    if not token and not settings.METRICS_ALLOWED_IPS:
        return HttpResponse(
            "metrics are not enabled: set METRICS_TOKEN or METRICS_ALLOWED_IPS\n",
            status=403,
            content_type="text/plain",
        )
    response = HttpResponse("authentication required\n", status=401, content_type="text/plain")
    response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response


def metrics_view(request: HttpRequest) -> HttpResponse:
    """GET /metrics: the Prometheus text format, for an authorised scraper only."""
    refusal = scrape_refusal(request)
    if refusal is not None:
        return refusal
    return HttpResponse(generate_latest(registry_for_scrape()), content_type=CONTENT_TYPE_LATEST)
