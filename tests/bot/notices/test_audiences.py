"""Who a broadcast reaches."""

from datetime import timedelta

import pytest
from django.utils import timezone

from bot.conversations.models import FollowerTag, Message
from bot.invoices.models import VerificationRecord
from bot.notices.audiences import audience_followers
from bot.notices.models import Broadcast, Incident, IncidentFollower

pytestmark = pytest.mark.django_db


def _openids(broadcast: Broadcast) -> list[str]:
    return list(audience_followers(broadcast=broadcast).values_list("openid", flat=True))


def _asked(follower, intent: str, *, days_ago: float = 0) -> None:
    message = Message.objects.create(
        follower=follower,
        direction="in",
        msg_type="text",
        text="……",
        intent=intent,
        dedup_key=f"msg:{follower.openid}:{intent}:{days_ago}",
    )
    when = timezone.now() - timedelta(days=days_ago)
    Message.objects.filter(pk=message.pk).update(created_at=when)


def _checked(follower, region: str, *, days_ago: float = 0) -> None:
    record = VerificationRecord.objects.create(follower=follower, region=region, result="not_found")
    when = timezone.now() - timedelta(days=days_ago)
    VerificationRecord.objects.filter(pk=record.pk).update(created_at=when)


def test_all_means_every_subscribed_follower_in_id_order(make_follower):
    make_follower("o-b")
    make_follower("o-gone", subscribed=False)
    make_follower("o-a")
    assert _openids(Broadcast(audience="all")) == ["o-b", "o-a"]


def test_tag(make_follower):
    tag = FollowerTag.objects.create(name="财务人员", wechat_tag_id=101)
    tagged, other = make_follower("o-tagged"), make_follower("o-other")
    tagged.tags.add(tag)
    make_follower("o-tagged-gone", subscribed=False).tags.add(tag)
    assert other.pk
    assert _openids(Broadcast(audience="tag", tag=tag)) == ["o-tagged"]


def test_intent_within_a_date_range(make_follower):
    recent, old, other = make_follower("o-recent"), make_follower("o-old"), make_follower("o-x")
    _asked(recent, "sync_delay", days_ago=1)
    _asked(recent, "sync_delay", days_ago=2)  # asked twice: still one notice
    _asked(old, "sync_delay", days_ago=10)
    _asked(other, "greeting", days_ago=1)
    Message.objects.create(
        follower=other, direction="out", msg_type="text", text="sync_delay", intent="sync_delay"
    )
    since = timezone.now() - timedelta(days=7)
    broadcast = Broadcast(audience="intent", intent="sync_delay", since=since)
    assert _openids(broadcast) == ["o-recent"]
    assert _openids(Broadcast(audience="intent", intent="sync_delay")) == ["o-recent", "o-old"]
    until = timezone.now() - timedelta(days=5)
    assert _openids(Broadcast(audience="intent", intent="sync_delay", until=until)) == ["o-old"]


def test_invoice_region_within_a_date_range(make_follower):
    bj, sh, old = make_follower("o-bj"), make_follower("o-sh"), make_follower("o-bj-old")
    _checked(bj, "北京", days_ago=1)
    _checked(sh, "上海", days_ago=1)
    _checked(old, "北京", days_ago=30)
    since = timezone.now() - timedelta(days=7)
    assert _openids(Broadcast(audience="region", region="北京", since=since)) == ["o-bj"]


def test_incident_affected_followers(make_follower):
    incident = Incident.objects.create(title="北京查验异常", region="北京")
    hit, miss = make_follower("o-hit"), make_follower("o-miss")
    IncidentFollower.objects.create(incident=incident, follower=hit, source="detected")
    assert miss.pk
    assert _openids(Broadcast(audience="incident", incident=incident)) == ["o-hit"]
