"""Writes of broadcasts: create, preview, start or schedule, expand in chunks, cancel, finish.

Starting a broadcast queues `expand_broadcast`, which turns the audience into
Notice rows a batch at a time (a keyset cursor on follower id, so a lost worker
costs nothing) and queues their delivery in chunks. The (follower, "broadcast:<id>")
idempotency key makes expanding the same batch twice harmless.
"""

import enum
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from bot.conversations.models import FollowerTag
from bot.notices import audiences
from bot.notices.models import Broadcast, Incident, Notice, NoticeKind
from bot.notices.services import notice_send, notices_queue

_EXPANDING_KEY = "notices:expanding:"


class ErrorCode(enum.StrEnum):
    AUDIENCE_INVALID = "audience_invalid"
    NOT_STARTABLE = "broadcast_not_startable"
    NOT_CANCELLABLE = "broadcast_not_cancellable"
    MASS_SEND_UNAVAILABLE = "mass_send_unavailable"
    INCIDENT_CLOSED = "incident_closed"
    INCIDENT_UNKNOWN = "incident_unknown"
    STATUS_INVALID = "incident_status_invalid"


class NoticesError(Exception):
    """A request the notice domain refuses; `code` is stable, `message` is for people."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def broadcast_validate(broadcast: Broadcast) -> None:
    """Raise NoticesError unless the audience has what it needs."""
    audience = broadcast.audience
    if audience not in Broadcast.Audience.values:
        raise NoticesError(ErrorCode.AUDIENCE_INVALID, "未知的受众类型")
    required = {
        Broadcast.Audience.TAG: broadcast.tag_id,
        Broadcast.Audience.INTENT: broadcast.intent,
        Broadcast.Audience.REGION: broadcast.region,
        Broadcast.Audience.INCIDENT: broadcast.incident_id,
    }
    if audience in required and not required[audience]:
        raise NoticesError(ErrorCode.AUDIENCE_INVALID, f"受众“{audience}”缺少参数")
    if broadcast.use_mass_send:
        tagged = audience == Broadcast.Audience.TAG and broadcast.tag.wechat_tag_id is not None
        if not (tagged or audience == Broadcast.Audience.ALL):
            raise NoticesError(
                ErrorCode.MASS_SEND_UNAVAILABLE, "群发接口只能发给全部粉丝或已同步到微信的标签"
            )


@transaction.atomic
def broadcast_create(
    *,
    text: str,
    audience: str,
    link: str = "",
    title: str = "",
    tag_name: str = "",
    intent: str = "",
    region: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    incident_id: int | None = None,
    kind: str = NoticeKind.BROADCAST,
    use_mass_send: bool = False,
    created_by=None,
) -> Broadcast:
    """Record a draft broadcast after checking its audience."""
    tag = None
    if tag_name:
        tag = FollowerTag.objects.filter(name=tag_name).first()
        if tag is None:
            raise NoticesError(ErrorCode.AUDIENCE_INVALID, f"标签“{tag_name}”不存在")
    # A dangling id would reach the database as a foreign-key violation (a 500).
    if incident_id is not None and not Incident.objects.filter(pk=incident_id).exists():
        raise NoticesError(ErrorCode.INCIDENT_UNKNOWN, f"事件 {incident_id} 不存在")
    broadcast = Broadcast(
        kind=kind,
        title=title,
        text=text,
        link=link,
        audience=audience,
        tag=tag,
        intent=intent,
        region=region,
        since=since,
        until=until,
        incident_id=incident_id,
        use_mass_send=use_mass_send,
        created_by=created_by,
    )
    broadcast_validate(broadcast)
    broadcast.save()
    return broadcast


def broadcast_preview(*, broadcast_id: int, follower_id: int) -> Notice:
    """Send the broadcast to one follower only, marked as a preview."""
    broadcast = Broadcast.objects.get(pk=broadcast_id)
    text = render_to_string("bot/notices/preview.txt", {"text": broadcast.text}).strip()
    return notice_send(
        kind=broadcast.kind,
        follower_id=follower_id,
        text=text,
        url=broadcast.link,
        idempotency_key=f"broadcast-preview:{broadcast.pk}:{timezone.now().timestamp()}",
    )


@transaction.atomic
def broadcast_start(*, broadcast_id: int) -> Broadcast:
    """Start sending now (a draft, or a scheduled broadcast whose time has come)."""
    from bot.notices.tasks import expand_broadcast, mass_send_broadcast

    broadcast = Broadcast.objects.select_for_update().get(pk=broadcast_id)
    if broadcast.status not in (Broadcast.Status.DRAFT, Broadcast.Status.SCHEDULED):
        raise NoticesError(ErrorCode.NOT_STARTABLE, "该群发已开始、已完成或已取消")
    broadcast.status = Broadcast.Status.SENDING
    broadcast.started_at = timezone.now()
    broadcast.total = audiences.audience_followers(broadcast=broadcast).count()
    broadcast.save(update_fields=["status", "started_at", "total"])
    task = mass_send_broadcast if broadcast.use_mass_send else expand_broadcast
    transaction.on_commit(lambda: task.delay(broadcast.pk))
    return broadcast


@transaction.atomic
def broadcast_schedule(*, broadcast_id: int, at: datetime) -> Broadcast:
    """Send at `at` (the beat task `start_due_broadcasts` starts it)."""
    broadcast = Broadcast.objects.select_for_update().get(pk=broadcast_id)
    if broadcast.status not in (Broadcast.Status.DRAFT, Broadcast.Status.SCHEDULED):
        raise NoticesError(ErrorCode.NOT_STARTABLE, "该群发已开始、已完成或已取消")
    broadcast.status = Broadcast.Status.SCHEDULED
    broadcast.scheduled_at = at
    broadcast.save(update_fields=["status", "scheduled_at"])
    return broadcast


def broadcasts_start_due(*, now: datetime | None = None) -> list[int]:
    """Start every scheduled broadcast whose time has come."""
    now = now or timezone.now()
    due = Broadcast.objects.filter(status=Broadcast.Status.SCHEDULED, scheduled_at__lte=now)
    started = []
    for broadcast_id in due.values_list("pk", flat=True):
        try:
            broadcast_start(broadcast_id=broadcast_id)
        except NoticesError:  # started or cancelled meanwhile
            continue
        started.append(broadcast_id)
    return started


@transaction.atomic
def broadcast_expand_step(*, broadcast_id: int) -> bool:
    """Turn the next batch of the audience into notices and queue them; True if more remain."""
    from bot.notices.tasks import expand_broadcast

    broadcast = Broadcast.objects.select_for_update().filter(pk=broadcast_id).first()
    if broadcast is None or broadcast.status != Broadcast.Status.SENDING or broadcast.expanded:
        return False
    cache.set(f"{_EXPANDING_KEY}{broadcast.pk}", 1, timeout=settings.NOTICES_CLAIM_LEASE_SECONDS)
    follower_ids = list(
        audiences.audience_followers(broadcast=broadcast)
        .filter(pk__gt=broadcast.cursor)
        .values_list("pk", flat=True)[: settings.NOTICES_EXPAND_BATCH]
    )
    now = timezone.now()
    Notice.objects.bulk_create(
        [
            Notice(
                kind=broadcast.kind,
                follower_id=follower_id,
                idempotency_key=broadcast.idempotency_key,
                text=broadcast.text,
                url=broadcast.link,
                broadcast=broadcast,
                queued_at=now,
            )
            for follower_id in follower_ids
        ],
        ignore_conflicts=True,
        batch_size=1000,
    )
    more = len(follower_ids) == settings.NOTICES_EXPAND_BATCH
    if more:
        # Queued ahead of this batch's deliveries: expansion keeps ahead of the senders
        # instead of waiting behind them in the queue.
        transaction.on_commit(lambda: expand_broadcast.delay(broadcast.pk))
    if follower_ids:
        notices_queue(
            list(
                Notice.objects.filter(
                    broadcast=broadcast,
                    status=Notice.Status.PENDING,
                    follower_id__gt=broadcast.cursor,
                    follower_id__lte=follower_ids[-1],
                )
                .order_by("pk")
                .values_list("pk", flat=True)
            )
        )
        broadcast.cursor = follower_ids[-1]
    fields = ["cursor"]
    if not more:
        broadcast.expanded = True
        broadcast.total = Notice.objects.filter(broadcast=broadcast).count()
        fields += ["expanded", "total"]
        transaction.on_commit(lambda: broadcast_finish_if_done(broadcast_id=broadcast.pk))
    broadcast.save(update_fields=fields)
    return more


def broadcast_finish_if_done(*, broadcast_id: int) -> bool:
    """Mark a fully expanded broadcast done once none of its notices is still open.

    A notice whose outcome is unknown (a worker died mid-call on a channel that cannot
    be deduplicated) makes it `done_unknowns`, never plain `done`: nobody can say
    whether those followers got the message.
    """
    notices = Notice.objects.filter(broadcast=broadcast_id)
    if notices.filter(status__in=Notice.OPEN_STATUSES).exists():
        return False
    unknown = notices.filter(status=Notice.Status.UNKNOWN).exists()
    return bool(
        Broadcast.objects.filter(
            pk=broadcast_id, status=Broadcast.Status.SENDING, expanded=True
        ).update(
            status=Broadcast.Status.DONE_WITH_UNKNOWNS if unknown else Broadcast.Status.DONE,
            finished_at=timezone.now(),
        )
    )


@transaction.atomic
def broadcast_cancel(*, broadcast_id: int) -> Broadcast:
    """Stop a broadcast: notices not yet claimed by a sender are cancelled."""
    broadcast = Broadcast.objects.select_for_update().get(pk=broadcast_id)
    if broadcast.status in (
        Broadcast.Status.DONE,
        Broadcast.Status.DONE_WITH_UNKNOWNS,
        Broadcast.Status.FAILED,
        Broadcast.Status.CANCELLED,
    ):
        raise NoticesError(ErrorCode.NOT_CANCELLABLE, "该群发已完成或已取消")
    broadcast.status = Broadcast.Status.CANCELLED
    broadcast.finished_at = timezone.now()
    broadcast.save(update_fields=["status", "finished_at"])
    Notice.objects.filter(broadcast=broadcast, status=Notice.Status.PENDING).update(
        status=Notice.Status.CANCELLED
    )
    return broadcast


def broadcasts_recover() -> int:
    """Restart expansion of sending broadcasts (a lost task) and finish the completed ones."""
    from bot.notices.tasks import expand_broadcast

    sending = Broadcast.objects.filter(status=Broadcast.Status.SENDING, use_mass_send=False)
    for broadcast_id in sending.filter(expanded=False).values_list("pk", flat=True):
        if cache.get(f"{_EXPANDING_KEY}{broadcast_id}") is None:  # its chain was lost
            expand_broadcast.delay(broadcast_id)
    finished = 0
    for broadcast_id in sending.filter(expanded=True).values_list("pk", flat=True):
        finished += broadcast_finish_if_done(broadcast_id=broadcast_id)
    return finished


def broadcast_mass_send(*, broadcast_id: int) -> Broadcast:
    """Hand the broadcast to WeChat's 群发 (one call; WeChat fans out and reports back)."""
    from bot.channels.wechat.client import WeChatApiError, wechat_client, wechat_configured
    from bot.notices.channels import mass_send_by_tag

    with transaction.atomic():
        broadcast = Broadcast.objects.select_for_update().get(pk=broadcast_id)
        if broadcast.status != Broadcast.Status.SENDING or broadcast.mass_msg_id:
            return broadcast
        text = broadcast.text if not broadcast.link else f"{broadcast.text}\n{broadcast.link}"
        tag_id = broadcast.tag.wechat_tag_id if broadcast.tag_id else None
        try:
            if wechat_configured():
                msg_id = mass_send_by_tag(
                    wechat_client(), tag_id=tag_id, text=text, key=broadcast.idempotency_key
                )
            else:
                msg_id = "simulated"
        except WeChatApiError as exc:
            msg_id = ""
            broadcast.status = Broadcast.Status.FAILED
            broadcast.error_message = str(exc)[:255]
        else:
            broadcast.status = Broadcast.Status.DONE
        broadcast.mass_msg_id = msg_id
        broadcast.finished_at = timezone.now()
        broadcast.save(update_fields=["status", "mass_msg_id", "finished_at", "error_message"])
        return broadcast


def broadcast_mass_report_record(*, msg_id: str, delivered: bool, fields: dict[str, str]) -> int:
    """Record WeChat's MASSSENDJOBFINISH on the mass-sent broadcast it reports on."""
    errors = fields.get("ErrorCount") or "0"
    if delivered and errors == "0":
        return 0  # fully sent: the broadcast already says done
    report = (
        f"WeChat mass-send report: {fields.get('Status', '')}; sent {fields.get('SentCount', '?')}"
        f" of {fields.get('TotalCount', '?')}, {errors} failed"
    )
    changes = {"error_message": report[:255]}
    if not delivered:
        changes["status"] = Broadcast.Status.FAILED
    return Broadcast.objects.filter(use_mass_send=True, mass_msg_id=msg_id).update(**changes)
