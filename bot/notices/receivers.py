"""Reactions of notices to other apps' signals (connected in apps.py)."""

from bot.notices import broadcasts, services


def delivery_report_receive(*, event: str, msg_id: str, delivered: bool, follower, fields, **_):
    """WeChat reported on a push (bot.channels.wechat.events.delivery_reported)."""
    if event == "MASSSENDJOBFINISH":
        broadcasts.broadcast_mass_report_record(msg_id=msg_id, delivered=delivered, fields=fields)
    else:
        services.notice_delivery_report_record(
            follower_id=follower.pk,
            msg_id=msg_id,
            delivered=delivered,
            status=fields.get("Status") or "",
        )
