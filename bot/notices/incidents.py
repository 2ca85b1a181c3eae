"""Writes of incidents: open or propose, confirm, post public updates, link followers.

Every public update (and the resolution) becomes a broadcast to the incident's
affected followers, so it shares the notice service's exactly-once delivery.
Detection counts distinct followers whose verifications failed (not found,
upstream error) per region or issuer, or who asked about an outage intent, in a
sliding window, against the usual rate of the preceding days.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.template.loader import render_to_string
from django.utils import timezone

from bot.conversations.models import Message
from bot.notices.audiences import verification_model
from bot.notices.broadcasts import ErrorCode, NoticesError, broadcast_create, broadcast_start
from bot.notices.models import Incident, IncidentFollower, IncidentUpdate, NoticeKind
from bot.notices.selectors import ANY_ACTIVE_KEY, incidents_active_for


def incident_follower_link(*, incident_id: int, follower_ids, source: str) -> None:
    """Mark followers affected (idempotent)."""
    IncidentFollower.objects.bulk_create(
        [
            IncidentFollower(incident_id=incident_id, follower_id=fid, source=source)
            for fid in set(follower_ids)
        ],
        ignore_conflicts=True,
        batch_size=1000,
    )


@transaction.atomic
def incident_update_post(
    *, incident_id: int, status: str, body: str, author=None
) -> IncidentUpdate:
    """Publish an update, move the incident to `status`, push it to the affected followers."""
    incident = Incident.objects.select_for_update().get(pk=incident_id)
    if incident.status in Incident.CLOSED_STATUSES:
        raise NoticesError(ErrorCode.INCIDENT_CLOSED, "事件已结束，不能再发布公告")
    if status not in Incident.PUBLIC_STATUSES:
        raise NoticesError(ErrorCode.STATUS_INVALID, "公告状态须为调查中、已定位、观察中或已解决")
    now = timezone.now()
    fields = ["status"]
    if incident.status == Incident.Status.PROPOSED:
        incident.confirmed_at, incident.confirmed_by = now, author
        fields += ["confirmed_at", "confirmed_by"]
    if status == Incident.Status.RESOLVED:
        incident.resolved_at = now
        fields.append("resolved_at")
    incident.status = status
    incident.save(update_fields=fields)
    # The dialog's cached "any incident public?" must see this change now.
    transaction.on_commit(lambda: cache.delete(ANY_ACTIVE_KEY))
    update = IncidentUpdate.objects.create(
        incident=incident, status=status, body=body, author=author
    )
    text = render_to_string(
        "bot/notices/incident_update.txt",
        {"incident": incident, "update": update, "status": update.get_status_display()},
    ).strip()
    broadcast = broadcast_create(
        text=text,
        audience="incident",
        incident_id=incident.pk,
        kind=NoticeKind.INCIDENT_UPDATE,
        title=incident.title[:60],
        created_by=author,
    )
    broadcast_start(broadcast_id=broadcast.pk)
    update.broadcast = broadcast
    update.save(update_fields=["broadcast"])
    return update


@transaction.atomic
def incident_open(
    *, title: str, body: str, region: str = "", issuer: str = "", system: str = "", author=None
) -> Incident:
    """Open an incident by hand (status investigating) with its first public update."""
    incident = Incident.objects.create(
        title=title,
        region=region,
        issuer=issuer,
        system=system,
        status=Incident.Status.INVESTIGATING,
        confirmed_at=timezone.now(),
        confirmed_by=author,
    )
    incident_update_post(
        incident_id=incident.pk, status=Incident.Status.INVESTIGATING, body=body, author=author
    )
    return incident


def incident_confirm(*, incident_id: int, body: str, author=None) -> IncidentUpdate:
    """A supervisor confirms a proposed incident: it goes public as investigating."""
    return incident_update_post(
        incident_id=incident_id, status=Incident.Status.INVESTIGATING, body=body, author=author
    )


@transaction.atomic
def incident_dismiss(*, incident_id: int, author=None) -> Incident:
    """A proposed incident was a false alarm: close it without telling anyone."""
    incident = Incident.objects.select_for_update().get(pk=incident_id)
    if incident.status != Incident.Status.PROPOSED:
        raise NoticesError(ErrorCode.STATUS_INVALID, "只有待确认的事件可以驳回")
    incident.status = Incident.Status.DISMISSED
    incident.confirmed_by = author
    incident.save(update_fields=["status", "confirmed_by"])
    return incident


@transaction.atomic
def incident_notice_for(follower_id: int, region: str | None) -> str | None:
    """The text telling this follower about an active incident matching their case, once.

    The dialog calls it when a follower reports a problem (with the invoice's region
    when known); the follower is linked as affected so they hear every later update.
    """
    for incident in incidents_active_for(region=region or ""):
        link, _ = IncidentFollower.objects.get_or_create(
            incident=incident,
            follower_id=follower_id,
            defaults={"source": IncidentFollower.Source.DIALOG},
        )
        if link.told_at is not None:
            return None
        link.told_at = timezone.now()
        link.save(update_fields=["told_at"])
        latest = incident.updates.order_by("-created_at", "-id").first()
        return render_to_string(
            "bot/notices/incident_active.txt",
            {
                "incident": incident,
                "status": incident.get_status_display(),
                "latest": latest.body if latest else "",
            },
        ).strip()
    return None


def _groups(*, start: datetime, end: datetime) -> dict[str, tuple[dict, Q, object]]:
    """Detection groups: key -> (what is affected, filter, queryset model manager)."""
    groups: dict[str, tuple[dict, Q, object]] = {}
    model = verification_model()
    if model is not None:
        failed = Q(result__in=settings.NOTICES_INCIDENT_RESULTS)
        names = {f.name for f in model._meta.get_fields()}
        for field in ("region", "issuer"):
            if field not in names:
                continue
            rows = (
                model.objects.filter(failed, created_at__gte=start, created_at__lt=end)
                .exclude(**{field: ""})
                .values(field)
                .annotate(n=Count("follower", distinct=True))
                .filter(n__gte=settings.NOTICES_INCIDENT_MIN_COUNT)
            )
            for row in rows:
                where = failed & Q(**{field: row[field]})
                groups[f"{field}:{row[field]}"[:80]] = ({field: row[field]}, where, model.objects)
    asked = Q(direction=Message.Direction.IN)
    rows = (
        Message.objects.filter(
            asked,
            intent__in=settings.NOTICES_INCIDENT_INTENTS,
            created_at__gte=start,
            created_at__lt=end,
        )
        .values("intent")
        .annotate(n=Count("follower", distinct=True))
        .filter(n__gte=settings.NOTICES_INCIDENT_MIN_COUNT)
    )
    for row in rows:
        where = asked & Q(intent=row["intent"])
        groups[f"intent:{row['intent']}"] = ({"system": row["intent"]}, where, Message.objects)
    return groups


def _distinct_followers(manager, where: Q, start: datetime, end: datetime):
    return (
        manager.filter(where, created_at__gte=start, created_at__lt=end, follower__isnull=False)
        .values_list("follower_id", flat=True)
        .distinct()
    )


def incidents_detect(*, now: datetime | None = None) -> list[Incident]:
    """Propose an incident for each group over the threshold; link the followers it hit."""
    now = now or timezone.now()
    window = timedelta(minutes=settings.NOTICES_INCIDENT_WINDOW_MINUTES)
    baseline = timedelta(hours=settings.NOTICES_INCIDENT_BASELINE_HOURS)
    start = now - window
    proposed = []
    for key, (affected, where, manager) in _groups(start=start, end=now).items():
        hit = list(_distinct_followers(manager, where, start, now))
        before = _distinct_followers(manager, where, start - baseline, start).count()
        usual = before * (window / baseline)
        if len(hit) < settings.NOTICES_INCIDENT_RATE_FACTOR * usual:
            continue
        incident = _incident_for_key(key, affected, count=len(hit), usual=usual, now=now)
        incident_follower_link(
            incident_id=incident.pk, follower_ids=hit, source=IncidentFollower.Source.DETECTED
        )
        if incident.status == Incident.Status.PROPOSED:
            proposed.append(incident)
    return proposed


def _incident_for_key(key: str, affected: dict, *, count: int, usual: float, now) -> Incident:
    """The open incident of this detection group, proposing one if there is none."""
    open_incidents = Incident.objects.filter(detection_key=key).exclude(
        status__in=Incident.CLOSED_STATUSES
    )
    incident = open_incidents.first()
    if incident is not None:
        return incident
    title = render_to_string("bot/notices/incident_detected_title.txt", affected).strip()
    try:
        with transaction.atomic():
            return Incident.objects.create(
                title=title[:100],
                status=Incident.Status.PROPOSED,
                detection_key=key,
                detection={
                    "count": count,
                    "usual": round(usual, 2),
                    "window_minutes": settings.NOTICES_INCIDENT_WINDOW_MINUTES,
                    "detected_at": now.isoformat(),
                },
                **affected,
            )
    except IntegrityError:  # another detector run proposed it first
        return open_incidents.get()
