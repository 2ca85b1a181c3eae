"""Reads of the WeChat channel."""

from django.db.models import QuerySet

from bot.conversations.models import Follower, Message


def follower_list(*, subscribed: bool | None = None, search: str = "") -> QuerySet[Follower]:
    followers = Follower.objects.all().order_by("-last_interaction_at", "-id")
    if subscribed is not None:
        followers = followers.filter(subscribed=subscribed)
    if search:
        followers = followers.filter(openid=search) | followers.filter(nickname__icontains=search)
    return followers.prefetch_related("tags")


def follower_get(*, openid: str) -> Follower | None:
    return Follower.objects.filter(openid=openid).first()


def conversation(*, follower: Follower, after_id: int = 0) -> QuerySet[Message]:
    """The follower's messages, oldest first; `after_id` for incremental polling."""
    return Message.objects.filter(follower=follower, id__gt=after_id).order_by("id")


def message_reply_stored(*, dedup_key: str) -> str | None:
    """The passive reply stored for a delivery, or None (answered with `success`)."""
    reply = (
        Message.objects.filter(reply_to__dedup_key=dedup_key, channel=Message.Channel.PASSIVE)
        .values_list("text", flat=True)
        .first()
    )
    return reply or None
