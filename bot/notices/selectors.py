"""Reads of notices, broadcasts and incidents."""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Q, QuerySet

from bot.conversations.models import Message
from bot.notices.models import Broadcast, Incident, Notice


@dataclass(frozen=True)
class Progress:
    total: int
    sent: int
    failed: int
    pending: int
    cancelled: int
    delivered: int  # WeChat's TEMPLATESENDJOBFINISH said it reached the phone
    # Part of `failed`: a worker died mid-call on a channel that cannot be deduplicated,
    # so these were not resent and nobody knows whether they arrived.
    unknown: int = 0

    @property
    def percent_done(self) -> int:
        if not self.total:
            return 100
        return min(100, round(100 * (self.sent + self.failed + self.cancelled) / self.total))


def broadcast_progress(*, broadcast: Broadcast) -> Progress:
    """Sent / failed / pending counts of a broadcast's notices (one query)."""
    counts = Notice.objects.filter(broadcast=broadcast).aggregate(
        sent=Count("pk", filter=Q(status__in=Notice.DONE_OK)),
        failed=Count("pk", filter=Q(status__in=Notice.DONE_BAD)),
        cancelled=Count("pk", filter=Q(status=Notice.Status.CANCELLED)),
        delivered=Count("pk", filter=Q(message__delivery_status=Message.Delivery.DELIVERED)),
        unknown=Count("pk", filter=Q(status=Notice.Status.UNKNOWN)),
        created=Count("pk"),
    )
    total = max(broadcast.total, counts["created"])
    if broadcast.status == Broadcast.Status.CANCELLED:
        total = counts["created"]
    settled = counts["sent"] + counts["failed"] + counts["cancelled"]
    return Progress(
        total=total,
        sent=counts["sent"],
        failed=counts["failed"],
        pending=max(0, total - settled),
        cancelled=counts["cancelled"],
        delivered=counts["delivered"],
        unknown=counts["unknown"],
    )


ANY_ACTIVE_KEY = "notices:incidents:any_active"
# How stale "is any incident public?" may be: incident_update_post also clears it on commit.
ANY_ACTIVE_SECONDS = 30


def incidents_any_active() -> bool:
    """Whether any incident is public and unresolved; cached, one cache read per message."""
    cached = cache.get(ANY_ACTIVE_KEY)
    if cached is None:
        cached = Incident.objects.filter(status__in=Incident.ACTIVE_STATUSES).exists()
        cache.set(ANY_ACTIVE_KEY, cached, timeout=ANY_ACTIVE_SECONDS)
    return cached


def incidents_active_for(*, region: str) -> QuerySet[Incident]:
    """Public, unresolved incidents matching a region (or system-wide ones), specific first."""
    matching = Q(region="", issuer="")
    if region:
        matching |= Q(region=region)
    return Incident.objects.filter(matching, status__in=Incident.ACTIVE_STATUSES).order_by(
        "-region", "-id"
    )


def incident_tickets(*, incident: Incident):
    """Help-desk tickets of the incident's affected followers opened since it began."""
    from tickets.models import Ticket

    # The detection window before the incident was opened counts: those tickets started it.
    since = incident.created_at - timedelta(minutes=settings.NOTICES_INCIDENT_WINDOW_MINUTES)
    openids = incident.followers.values_list("openid", flat=True)
    return Ticket.objects.filter(requester_ref__in=openids, created_at__gte=since).order_by(
        "-created_at"
    )


def follower_notices(*, follower_id: int) -> QuerySet[Notice]:
    return Notice.objects.filter(follower_id=follower_id).order_by("-id")
