"""Alarms on failure rates: above a threshold in a window, an episode opens and the
on-duty supervisors hear of it once (admin, and a WeChat notice through
`bot.notices.services.notice_send`); it closes when the rate falls back below
`REPORTS_ALARM_CLEAR_FACTOR` × the threshold. Beside the incident detector of
`bot.notices.incidents`, which watches what followers run into; these watch the
desk's own plumbing.

The measures, each (failures, total) over the alarm's window:

- `verify_upstream`: verification records with result upstream_error / all finished;
- `webhook`: webhook rejections (the channel logs each one) and errors (the dialog's
  failures, 5xx) / those plus follower messages stored;
- `notices`: notices claimed in the window that failed (failed, unknown) / all finished;
- `unanswered`: follower messages understood as out of scope / all understood.

Webhook rejections are only logged by the channel (`bot.channels.wechat.inbound`),
so a logging handler installed in `ready()` counts them per minute in the shared cache.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from bot.conversations.models import Follower, Message
from bot.invoices.models import Result, VerificationRecord
from bot.nlu.vocabulary import Intent
from bot.notices.models import Notice, NoticeKind
from bot.notices.services import notice_send
from bot.reports.models import AlarmEpisode, AlarmKind
from support.roles import user_is_supervisor
from tickets.models import AgentProfile

logger = logging.getLogger(__name__)

COUNTER_TTL_SECONDS = 3 * 3600
_COUNTER_KEY = "reports:webhook:{kind}:{minute}"
REJECTED, ERROR = "rejected", "error"
DEFAULT_ALARMS = {
    AlarmKind.VERIFY_UPSTREAM: {"threshold": 0.2, "window_minutes": 15, "min_events": 10},
    AlarmKind.WEBHOOK: {"threshold": 0.05, "window_minutes": 10, "min_events": 20},
    AlarmKind.NOTICES: {"threshold": 0.1, "window_minutes": 30, "min_events": 10},
    AlarmKind.UNANSWERED: {"threshold": 0.4, "window_minutes": 60, "min_events": 20},
}


# -- counting the webhook's rejections and errors -------------------------------------
def webhook_count(kind: str, *, at: float | None = None) -> None:
    """Count one rejection or error in this minute's counter (never raises)."""
    key = _COUNTER_KEY.format(kind=kind, minute=int((at or time.time()) // 60))
    try:
        if not cache.add(key, 1, timeout=COUNTER_TTL_SECONDS):
            cache.incr(key)
    except Exception:  # a counter must never break the webhook
        logger.debug("webhook counter %s not counted", key, exc_info=True)


def webhook_counted(kind: str, *, since: datetime, until: datetime) -> int:
    first, last = int(since.timestamp() // 60), int(until.timestamp() // 60)
    keys = [_COUNTER_KEY.format(kind=kind, minute=m) for m in range(first, last + 1)]
    return sum(int(v) for v in cache.get_many(keys).values())


class WebhookCounter(logging.Handler):
    """Counts the channel's "webhook rejected" lines and the dialog's and server's errors."""

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == "bot.channels.wechat.inbound":
            if record.getMessage().startswith("wechat webhook rejected"):
                webhook_count(REJECTED)
        elif record.name == "django.request":
            request = getattr(record, "request", None)
            status = getattr(record, "status_code", 0) or 0
            if status >= 500 and getattr(request, "path", "").startswith("/wechat/"):
                webhook_count(ERROR)
        elif record.levelno >= logging.ERROR:  # bot.dialog.receive: the dialog failed
            webhook_count(ERROR)


_HANDLER = WebhookCounter(level=logging.INFO)


def webhook_counters_install() -> None:
    """Attach the counter to the loggers it reads (idempotent; AppConfig.ready)."""
    # Each logger keeps its own level: the handler sees what it emits anyway.
    for name in ("bot.channels.wechat.inbound", "django.request", "bot.dialog.receive"):
        target = logging.getLogger(name)
        if _HANDLER not in target.handlers:
            target.addHandler(_HANDLER)


# -- the measures ---------------------------------------------------------------------
@dataclass(frozen=True)
class Measure:
    failures: int
    total: int

    @property
    def rate(self) -> float:
        return self.failures / self.total if self.total else 0.0


def _recent(model, since: datetime):
    """Rows created since `since`, found by id (ids grow with time; no created_at index)."""
    before = (
        model.objects.filter(created_at__lt=since).order_by("-id").values_list("id", flat=True)[:1]
    )
    boundary = next(iter(before), 0)
    return model.objects.filter(id__gt=boundary, created_at__gte=since)


def measure(kind: str, *, since: datetime, until: datetime) -> Measure:
    if kind == AlarmKind.VERIFY_UPSTREAM:
        checks = (
            _recent(VerificationRecord, since)
            .filter(created_at__lt=until)
            .exclude(result=VerificationRecord.PENDING)
        )
        failed = checks.filter(result=Result.UPSTREAM_ERROR).count()
        return Measure(failed, checks.count())
    if kind == AlarmKind.WEBHOOK:
        bad = webhook_counted(REJECTED, since=since, until=until) + webhook_counted(
            ERROR, since=since, until=until
        )
        stored = Message.objects.filter(
            direction=Message.Direction.IN, created_at__gte=since, created_at__lt=until
        ).count()
        return Measure(bad, bad + stored)
    if kind == AlarmKind.NOTICES:
        finished = Notice.objects.filter(
            status__in=(*Notice.DONE_OK, *Notice.DONE_BAD),
            claimed_at__gte=since,
            claimed_at__lt=until,
        )
        return Measure(finished.filter(status__in=Notice.DONE_BAD).count(), finished.count())
    if kind == AlarmKind.UNANSWERED:
        understood = Message.objects.filter(
            direction=Message.Direction.IN, created_at__gte=since, created_at__lt=until
        ).exclude(intent="")
        return Measure(understood.filter(intent=Intent.OOS).count(), understood.count())
    raise ValueError(kind)


def alarm_settings(kind: str) -> dict:
    configured = getattr(settings, "REPORTS_ALARMS", {}) or {}
    return {**DEFAULT_ALARMS[AlarmKind(kind)], **configured.get(str(kind), {})}


# -- episodes -------------------------------------------------------------------------
def supervisors_on_duty() -> list[AgentProfile]:
    """On-duty agents holding the supervisor role who can be reached (notify_ref set)."""
    profiles = (
        AgentProfile.objects.filter(on_duty=True, user__is_active=True)
        .exclude(notify_ref="")
        .select_related("user")
    )
    return [p for p in profiles if user_is_supervisor(p.user)]


def _text(episode: AlarmEpisode) -> str:
    return render_to_string(
        "bot/reports/alarm.txt",
        {
            "kind": episode.get_kind_display(),
            "window": episode.window_minutes,
            "rate": f"{episode.rate:.0%}",
            "threshold": f"{episode.threshold:.0%}",
            "failures": episode.failures,
            "total": episode.total,
            "opened_at": timezone.localtime(episode.opened_at),
        },
    ).strip()


def alarm_notify(*, episode_id: int) -> list[str]:
    """Tell the on-duty supervisors of an episode, once each (the notice's idempotency key)."""
    episode = AlarmEpisode.objects.get(pk=episode_id)
    profiles = supervisors_on_duty()
    followers = Follower.objects.filter(openid__in=[p.notify_ref for p in profiles])
    told = []
    for follower in followers:
        notice_send(
            # Staff alerts travel as the help desk's ones do (bot.helpdesk.backend.staff_alert).
            kind=NoticeKind.TICKET_EVENT,
            follower_id=follower.pk,
            text=_text(episode),
            idempotency_key=f"alarm:{episode.pk}",
            template_data={"first": episode.get_kind_display(), "status": "告警"},
        )
        told.append(follower.openid)
    AlarmEpisode.objects.filter(pk=episode.pk).update(
        notified_at=timezone.now(), notified=sorted(set(episode.notified) | set(told))
    )
    return told


def alarm_check(*, kind: str, now: datetime | None = None) -> AlarmEpisode | None:
    """Measure one alarm; open, update or close its episode. Returns the open episode."""
    now = now or timezone.now()
    conf = alarm_settings(kind)
    window = int(conf["window_minutes"])
    found = measure(kind, since=now - timedelta(minutes=window), until=now)
    threshold = float(conf["threshold"])
    above = found.total >= int(conf["min_events"]) and found.rate >= threshold
    clear = float(getattr(settings, "REPORTS_ALARM_CLEAR_FACTOR", 0.8)) * threshold
    with transaction.atomic():
        episode = AlarmEpisode.objects.select_for_update().filter(kind=kind, closed_at=None).first()
        if episode is None:
            if not above:
                return None
            try:
                with transaction.atomic():
                    episode = AlarmEpisode.objects.create(
                        kind=kind,
                        opened_at=now,
                        threshold=threshold,
                        window_minutes=window,
                        rate=found.rate,
                        peak_rate=found.rate,
                        last_rate=found.rate,
                        failures=found.failures,
                        total=found.total,
                    )
            except IntegrityError:  # another check opened it first: that one alerts
                return AlarmEpisode.objects.filter(kind=kind, closed_at=None).first()
            episode_id = episode.pk
            transaction.on_commit(lambda: _notify_later(episode_id))
            return episode
        episode.last_rate = found.rate
        episode.peak_rate = max(episode.peak_rate, found.rate)
        fields = ["last_rate", "peak_rate"]
        if not above and found.rate < clear:
            episode.closed_at = now
            fields.append("closed_at")
        episode.save(update_fields=fields)
        return episode if episode.closed_at is None else None


def _notify_later(episode_id: int) -> None:
    from bot.reports.tasks import reports_alarm_notify

    reports_alarm_notify.delay(episode_id)


def alarms_check(*, now: datetime | None = None) -> list[AlarmEpisode]:
    """Check every alarm; the open episodes."""
    out = []
    for kind in AlarmKind.values:
        episode = alarm_check(kind=kind, now=now)
        if episode is not None:
            out.append(episode)
    return out
