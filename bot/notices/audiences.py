"""Who a broadcast goes to: a queryset of subscribed followers, ordered by id."""

from django.apps import apps
from django.db.models import Exists, OuterRef, QuerySet

from bot.conversations.models import Follower, Message
from bot.notices.models import Broadcast, IncidentFollower


def verification_model():
    """bot.invoices' VerificationRecord, or None while that app has no such model."""
    try:
        return apps.get_model("invoices", "VerificationRecord")
    except LookupError:
        return None


def _in_range(queryset: QuerySet, *, field: str, since, until) -> QuerySet:
    if since is not None:
        queryset = queryset.filter(**{f"{field}__gte": since})
    if until is not None:
        queryset = queryset.filter(**{f"{field}__lt": until})
    return queryset


def audience_followers(*, broadcast: Broadcast) -> QuerySet[Follower]:
    """Subscribed followers the broadcast reaches, by id (the expansion's keyset order)."""
    followers = Follower.objects.filter(subscribed=True)
    audience = broadcast.audience
    if audience == Broadcast.Audience.TAG:
        followers = followers.filter(tags=broadcast.tag_id)
    elif audience == Broadcast.Audience.INTENT:
        asked = _in_range(
            Message.objects.filter(
                follower=OuterRef("pk"), direction=Message.Direction.IN, intent=broadcast.intent
            ),
            field="created_at",
            since=broadcast.since,
            until=broadcast.until,
        )
        followers = followers.filter(Exists(asked))
    elif audience == Broadcast.Audience.REGION:
        model = verification_model()
        if model is None:
            return followers.none()
        checked = _in_range(
            model.objects.filter(follower=OuterRef("pk"), region=broadcast.region),
            field="created_at",
            since=broadcast.since,
            until=broadcast.until,
        )
        followers = followers.filter(Exists(checked))
    elif audience == Broadcast.Audience.INCIDENT:
        affected = IncidentFollower.objects.filter(
            follower=OuterRef("pk"), incident=broadcast.incident_id
        )
        followers = followers.filter(Exists(affected))
    return followers.order_by("pk")
