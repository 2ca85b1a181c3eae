"""Writes about followers, shared by inbound handling and outbound delivery."""

from django.db import connection
from django.utils import timezone

from bot.wechat.models import Follower

# Every inbound message touches its follower: one upsert statement instead of
# get_or_create + UPDATE (3 to 4 round trips) on the webhook's hot path.
# PostgreSQL and SQLite (3.35+) both speak INSERT … ON CONFLICT … RETURNING.
_TOUCH_SQL = """
INSERT INTO {table} (openid, subscribed, last_interaction_at, nickname, remark, created_at)
VALUES (%s, %s, %s, '', '', %s)
ON CONFLICT (openid) DO UPDATE SET last_interaction_at = EXCLUDED.last_interaction_at
RETURNING id, subscribed, nickname, remark
"""
# Loaded now, in the model's field order (from_db needs it); the other fields are
# deferred and read from the database if used.
_TOUCH_FIELDS = ["id", "openid", "subscribed", "last_interaction_at", "nickname", "remark"]


def follower_touch(*, openid: str) -> Follower:
    """Get or create the follower (subscribed) and record that they just interacted."""
    now = timezone.now()
    stamp = Follower._meta.get_field("last_interaction_at").get_db_prep_value(now, connection)
    with connection.cursor() as cursor:
        cursor.execute(
            _TOUCH_SQL.format(table=connection.ops.quote_name(Follower._meta.db_table)),
            [openid, True, stamp, stamp],
        )
        pk, subscribed, nickname, remark = cursor.fetchone()
    return Follower.from_db(
        connection.alias, _TOUCH_FIELDS, [pk, openid, bool(subscribed), now, nickname, remark]
    )


def follower_subscribe(*, follower: Follower) -> None:
    follower.subscribed = True
    follower.subscribed_at = timezone.now()
    follower.save(update_fields=["subscribed", "subscribed_at"])


def follower_unsubscribe(*, follower: Follower) -> None:
    """Mark the follower gone; their history stays."""
    follower.subscribed = False
    follower.unsubscribed_at = timezone.now()
    follower.save(update_fields=["subscribed", "unsubscribed_at"])
