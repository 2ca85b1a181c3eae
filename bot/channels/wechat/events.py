"""WeChat's reports on pushes: the TEMPLATESENDJOBFINISH and MASSSENDJOBFINISH events.

A template message's report updates the outbound Message that carried it (same
follower and WeChat msgid). Whoever else keeps records of pushes (the notices
app: notices and mass-sent broadcasts) listens to `delivery_reported`: the
channel does not import the apps above it.
"""

from django.dispatch import Signal

from bot.conversations.models import Follower, Message
from bot.conversations.services import message_delivery_report_record

# Sent after each report, with `event` (upper case), `msg_id`, `status` (WeChat's
# words), `delivered`, `follower` and the event's `fields`; the sender is Message.
delivery_reported = Signal()

# TEMPLATESENDJOBFINISH: "success" / "failed:user block" / "failed: system failed";
# MASSSENDJOBFINISH: "sendsuccess" / "sendfail" / "err(<code>)".
_DELIVERED = {"success", "send success", "sendsuccess"}


def delivery_report_record(*, follower: Follower, fields: dict[str, str]) -> None:
    """Record TEMPLATESENDJOBFINISH / MASSSENDJOBFINISH against the push it reports on."""
    msg_id = fields.get("MsgID") or fields.get("MsgId")
    if not msg_id:
        return
    status = fields.get("Status") or ""
    delivered = status.strip().lower() in _DELIVERED
    message_delivery_report_record(
        follower=follower, wechat_msg_id=msg_id, delivered=delivered, status=status
    )
    delivery_reported.send(
        sender=Message,
        event=(fields.get("Event") or "").upper(),
        msg_id=msg_id,
        status=status,
        delivered=delivered,
        follower=follower,
        fields=fields,
    )
