"""Writes about followers, shared by inbound handling and outbound delivery."""

from django.utils import timezone

from bot.wechat.models import Follower


def follower_touch(*, openid: str) -> Follower:
    """Get or create the follower and record that they just interacted."""
    now = timezone.now()
    follower, created = Follower.objects.get_or_create(
        openid=openid, defaults={"last_interaction_at": now, "subscribed": True}
    )
    if not created:
        Follower.objects.filter(pk=follower.pk).update(last_interaction_at=now)
        follower.last_interaction_at = now
    return follower


def follower_subscribe(*, follower: Follower) -> None:
    follower.subscribed = True
    follower.subscribed_at = timezone.now()
    follower.save(update_fields=["subscribed", "subscribed_at"])


def follower_unsubscribe(*, follower: Follower) -> None:
    """Mark the follower gone; their history stays."""
    follower.subscribed = False
    follower.unsubscribed_at = timezone.now()
    follower.save(update_fields=["subscribed", "unsubscribed_at"])
