"""follower_touch: one upsert per inbound message."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bot.conversations.models import Follower
from bot.conversations.services import follower_touch

pytestmark = pytest.mark.django_db


def test_first_touch_creates_a_subscribed_follower_in_one_statement():
    with CaptureQueriesContext(connection) as queries:
        follower = follower_touch(openid="o-new")
    assert len(queries) == 1
    stored = Follower.objects.get(openid="o-new")
    assert (follower.pk, follower.subscribed) == (stored.pk, True)
    assert stored.last_interaction_at is not None


def test_later_touch_updates_the_time_and_keeps_everything_else():
    earlier = timezone.now() - timedelta(days=3)
    existing = Follower.objects.create(
        openid="o-old",
        subscribed=False,
        unsubscribed_at=earlier,
        last_interaction_at=earlier,
        nickname="老王",
    )
    follower = follower_touch(openid="o-old")
    assert follower.pk == existing.pk
    assert (follower.subscribed, follower.nickname) == (False, "老王")
    assert follower.unsubscribed_at == earlier  # deferred, read on use
    stored = Follower.objects.get(pk=existing.pk)
    assert stored.last_interaction_at > earlier
    assert Follower.objects.count() == 1
