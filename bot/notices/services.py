"""Writes of the notice service: queue a notice, deliver claimed notices, recover lost work.

Every notice moves pending → sending → sent (or failed/unknown/cancelled). A
delivery claims its rows first (row locks with SKIP LOCKED, then a claim token),
so two tasks holding the same ids never both send; the outcome is written only
for rows that still carry the claim token. Work lost with a worker is picked up
by `notices_recover` once the claim lease has passed.
"""

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from bot.channels.wechat.client import Errcode, wechat_configured
from bot.conversations.services import (
    Pushed,
    followers_unsubscribed_record,
    messages_pushed_record,
)
from bot.notices import channels
from bot.notices.models import Broadcast, Notice
from bot.notices.sending import Result, send_all
from bot.notices.throttle import throttle_acquire, throttle_back_off

_ACTIVE_KEY = "notices:active:"


def notices_queue(notice_ids: list[int]) -> None:
    """Queue delivery of these notices in chunks once the transaction commits."""
    from bot.notices.tasks import deliver_notices

    size = settings.NOTICES_CHUNK_SIZE
    for start in range(0, len(notice_ids), size):
        chunk = notice_ids[start : start + size]
        transaction.on_commit(lambda chunk=chunk: deliver_notices.delay(chunk))


@transaction.atomic
def notice_send(
    *,
    kind: str,
    follower_id: int,
    text: str,
    idempotency_key: str,
    template_data: dict | None = None,
    url: str = "",
) -> Notice:
    """Queue one notice; the same (follower, idempotency key) returns the existing one."""
    notice, created = Notice.objects.get_or_create(
        follower_id=follower_id,
        idempotency_key=idempotency_key,
        defaults={
            "kind": kind,
            "text": text,
            "url": url,
            "template_data": template_data,
            "queued_at": timezone.now(),
        },
    )
    if created:
        notices_queue([notice.pk])
    return notice


# Refusals that only the follower's next message lifts: outside the 48-hour window (45015),
# past its 5 customer-service messages (45047), or no template to fall back on.
WINDOW_CLOSED_CODES = (45015, 45047)


def notice_waits_for_follower(notice: Notice) -> bool:
    """Whether a failed notice failed only because the reply window was closed."""
    if notice.status != Notice.Status.FAILED:
        return False
    if notice.error_code in WINDOW_CLOSED_CODES:
        return True
    return notice.error_code is None and notice.error_message.startswith("no template")


@transaction.atomic
def notices_waiting_resend(*, follower_id: int, key_prefix: str) -> list[int]:
    """The follower wrote: send again what waited for the window to reopen (queued on commit)."""
    rows = list(
        Notice.objects.select_for_update(skip_locked=True).filter(
            follower_id=follower_id,
            idempotency_key__startswith=key_prefix,
            status=Notice.Status.FAILED,
        )
    )
    waiting = [n for n in rows if notice_waits_for_follower(n)]
    if not waiting:
        return []
    ids = [n.pk for n in waiting]
    Notice.objects.filter(pk__in=ids).update(
        status=Notice.Status.PENDING,
        attempts=0,
        error_code=None,
        error_message="",
        queued_at=timezone.now(),
        channel=Notice.Channel.NONE,
    )
    notices_queue(ids)
    return ids


@dataclass
class DeliveryOutcome:
    """What one delivery run did; `retry_ids` should be tried again after `countdown` s."""

    settled: dict[str, int] = field(default_factory=dict)
    retry_ids: list[int] = field(default_factory=list)
    countdown: int = 0
    broadcast_ids: set[int] = field(default_factory=set)


def _claim(notice_ids: list[int], token: str, now: datetime) -> list[Notice]:
    with transaction.atomic():
        ids = list(
            Notice.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk__in=notice_ids, status=Notice.Status.PENDING)
            .exclude(broadcast__status=Broadcast.Status.CANCELLED)
            .values_list("pk", flat=True)
        )
        if not ids:
            return []
        Notice.objects.filter(pk__in=ids).update(
            status=Notice.Status.SENDING,
            claim_token=token,
            claimed_at=now,
            attempts=F("attempts") + 1,
        )
    return list(
        Notice.objects.filter(pk__in=ids, claim_token=token)
        .select_related("follower")
        .order_by("pk")
    )


def _mirror(results: list[Result], now: datetime) -> None:
    """Outbound Message rows for what reached (or would reach) the follower."""
    shown = [r for r in results if r.status in Notice.DONE_OK]
    messages = messages_pushed_record(
        pushed=[
            Pushed(
                follower_id=r.notice.follower_id,
                channel=r.channel,
                text=r.notice.text,
                delivery_status=r.status,
                wechat_msg_id=r.msg_id,
                template_id=r.template_id,
                payload=r.payload,
            )
            for r in shown
        ],
        sent_at=now,
    )
    for result, message in zip(shown, messages, strict=True):
        result.notice.message = message


_OUTCOME_FIELDS = [
    "status",
    "channel",
    "wechat_msg_id",
    "error_code",
    "error_message",
    "sent_at",
    "claim_token",
    "queued_at",
    "message",
]

# PostgreSQL: one UPDATE ... FROM (VALUES ...) per chunk; bulk_update's CASE per field costs
# more CPU than the sends themselves.
_OUTCOME_SQL = """
UPDATE {table} AS n SET status = v.status, channel = v.channel, wechat_msg_id = v.msg_id,
    error_code = v.error_code, error_message = v.error_message, sent_at = v.sent_at,
    claim_token = '', queued_at = v.queued_at, message_id = v.message_id
FROM (VALUES {rows}) AS v(id, status, channel, msg_id, error_code, error_message, sent_at,
    queued_at, message_id)
WHERE n.id = v.id
"""
_OUTCOME_ROW = (
    "(%s::bigint, %s, %s, %s, %s::integer, %s, %s::timestamptz, %s::timestamptz, %s::bigint)"
)


def _write_outcomes(notices: list[Notice]) -> None:
    if not notices:
        return
    if connection.vendor != "postgresql":
        Notice.objects.bulk_update(notices, _OUTCOME_FIELDS)
        return
    params: list = []
    for n in notices:
        params += [
            n.pk,
            n.status,
            n.channel,
            n.wechat_msg_id,
            n.error_code,
            n.error_message,
            n.sent_at,
            n.queued_at,
            n.message_id,
        ]
    sql = _OUTCOME_SQL.format(
        table=Notice._meta.db_table, rows=", ".join([_OUTCOME_ROW] * len(notices))
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _settle(results: list[Result], token: str, now: datetime) -> list[Result]:
    with transaction.atomic():
        mine = set(
            Notice.objects.select_for_update()
            .filter(pk__in=[r.notice.pk for r in results], claim_token=token)
            .filter(status=Notice.Status.SENDING)
            .values_list("pk", flat=True)
        )
        results = [r for r in results if r.notice.pk in mine]
        _mirror(results, now)
        for r in results:
            n = r.notice
            n.status, n.channel, n.wechat_msg_id = r.status, r.channel, r.msg_id
            n.error_code = r.error.errcode if r.error else None
            n.error_message = (r.error.errmsg if r.error else "")[:255]
            n.sent_at = now if r.status in Notice.DONE_OK else None
            n.claim_token = ""
            if r.status == Notice.Status.PENDING:
                n.queued_at = now
        _write_outcomes([r.notice for r in results])
        gone = {
            r.notice.follower_id
            for r in results
            if r.error
            and r.error.errcode == Errcode.USER_UNSUBSCRIBED
            and r.notice.follower.subscribed
        }
        if gone:
            followers_unsubscribed_record(follower_ids=gone, at=now)
    return results


def _mark_active(notices: list[Notice]) -> None:
    """Tell recovery these notices' queue is draining (their broadcast, or standalone)."""
    lease = settings.NOTICES_CLAIM_LEASE_SECONDS
    for broadcast_id in {n.broadcast_id for n in notices}:
        cache.set(f"{_ACTIVE_KEY}{broadcast_id or 0}", 1, timeout=lease)


def _mark_subscribe(notices: list[Notice], *, token: str, now: datetime, templates: dict):
    """Note the notices about to go as subscribe messages: recovery must never resend them."""
    kinds = {kind for kind, choice in templates.items() if kind and choice.is_subscribe}
    if not kinds:
        return
    ids = [
        n.pk
        for n in notices
        if n.kind in kinds
        and not channels.within_service_window(n.follower.last_interaction_at, now=now)
    ]
    if ids:
        Notice.objects.filter(pk__in=ids, claim_token=token).update(
            channel=Notice.Channel.SUBSCRIBE
        )


def notices_deliver(*, notice_ids: list[int]) -> DeliveryOutcome:
    """Claim the pending notices among `notice_ids`, send them, record each outcome."""
    outcome = DeliveryOutcome()
    configured = wechat_configured()
    # Budget first, so a claimed notice never waits: claims stay short against the lease.
    if configured and not throttle_acquire(len(notice_ids)):
        outcome.retry_ids, outcome.countdown = list(notice_ids), 5
        return outcome
    token = uuid.uuid4().hex
    now = timezone.now()
    notices = _claim(notice_ids, token, now)
    if not notices:
        return outcome
    _mark_active(notices)
    templates = channels.templates_by_kind()
    if configured:
        _mark_subscribe(notices, token=token, now=now, templates=templates)
    results = send_all(notices, configured=configured, now=now, templates=templates)
    if any(r.error and r.error.errcode == Errcode.OUT_OF_API_FREQ_LIMIT for r in results):
        throttle_back_off(settings.NOTICES_RATE_LIMIT_PAUSE_SECONDS)
    for r in _settle(results, token, timezone.now()):
        outcome.settled[r.status] = outcome.settled.get(r.status, 0) + 1
        if r.status == Notice.Status.PENDING:
            outcome.retry_ids.append(r.notice.pk)
            outcome.countdown = max(outcome.countdown, min(2**r.notice.attempts, 60))
        if r.notice.broadcast_id:
            outcome.broadcast_ids.add(r.notice.broadcast_id)
    return outcome


def _may_have_gone_out_as_text() -> Q:
    """A stuck notice whose follower was inside the 48-hour window at claim time."""
    return Q(follower__last_interaction_at__gt=F("claimed_at") - channels.CS_WINDOW)


@transaction.atomic
def notices_recover(*, now: datetime | None = None) -> dict[str, int]:
    """Requeue notices a lost worker left behind; give up on the ones unsafe to resend.

    A stuck template notice is resent: WeChat drops a repeat with the same
    client_msg_id for 10 minutes. A stuck customer-service or subscribe message has
    no such guard, so it becomes `unknown` rather than risk a second copy.
    """
    now = now or timezone.now()
    lease = timedelta(seconds=settings.NOTICES_CLAIM_LEASE_SECONDS)
    dedup_window = timedelta(seconds=settings.NOTICES_CLIENT_MSG_ID_WINDOW_SECONDS)
    stuck = Notice.objects.filter(status=Notice.Status.SENDING, claimed_at__lt=now - lease)
    unsafe = Q(claimed_at__lt=now - dedup_window)
    if wechat_configured():
        # Subscribe messages carry no client_msg_id either: a repeat would be a second copy.
        unsafe |= _may_have_gone_out_as_text() | Q(channel=Notice.Channel.SUBSCRIBE)
    unknown = stuck.filter(unsafe).update(
        status=Notice.Status.UNKNOWN,
        claim_token="",
        error_message="worker lost during the call; not resent",
    )
    resend = list(stuck.values_list("pk", flat=True))
    # A pending notice waits in the queue behind its broadcast's other chunks; only when
    # nothing of that broadcast (or no standalone notice) was claimed for a lease is its task
    # taken for lost with a worker.
    waiting = Notice.objects.filter(status=Notice.Status.PENDING, queued_at__lt=now - lease)
    groups = set(waiting.order_by().values_list("broadcast_id", flat=True).distinct())
    idle = [g for g in groups if cache.get(f"{_ACTIVE_KEY}{g or 0}") is None]
    stale: list[int] = []
    if idle:
        in_idle = Q(broadcast_id__in=[g for g in idle if g is not None])
        if None in idle:
            in_idle |= Q(broadcast_id__isnull=True)
        stale = list(
            waiting.filter(in_idle)
            .order_by("pk")
            .values_list("pk", flat=True)[: settings.NOTICES_RECOVER_BATCH]
        )
    Notice.objects.filter(pk__in=resend).update(
        status=Notice.Status.PENDING, claim_token="", queued_at=now
    )
    Notice.objects.filter(pk__in=stale).update(queued_at=now)
    notices_queue(resend + stale)
    return {"unknown": unknown, "resent": len(resend), "requeued": len(stale)}


def notice_delivery_report_record(
    *, follower_id: int, msg_id: str, delivered: bool, status: str
) -> int:
    """Note on the notice WeChat's report that its template message did not reach the phone.

    The receipt itself is on the mirrored Message (broadcast progress counts it there);
    the notice stays `sent`, since WeChat did accept the call.
    """
    if delivered:
        return 0
    return Notice.objects.filter(
        follower_id=follower_id, wechat_msg_id=msg_id, status=Notice.Status.SENT
    ).update(error_message=f"WeChat delivery report: {status}"[:255])
