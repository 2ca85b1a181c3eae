"""Tell a follower whose problem matches an active incident about it, once.

After the NLU understood an outage-like question (no region known), and after an
invoice check failed in a way an incident explains (with the invoice's region).
Costs one cache read while no incident is public.
"""

from django.conf import settings

from bot.dialog.state import Turn
from bot.notices.incidents import incident_notice_for
from bot.notices.selectors import incidents_any_active


def incident_intent_matters(intent: str) -> bool:
    """Whether an understood intent is one an active incident may explain."""
    return intent in settings.NOTICES_INCIDENT_INTENTS and incidents_any_active()


def incident_result_matters(result: str) -> bool:
    """Whether a verification result is one an active incident may explain."""
    return result in settings.NOTICES_INCIDENT_RESULTS and incidents_any_active()


def incident_addendum(*, follower_id: int, region: str | None = None) -> str | None:
    """The incident notice to add to a reply (links the follower as affected), or None."""
    return incident_notice_for(follower_id, region)


def after_wants(turn: Turn) -> bool:
    return incident_intent_matters(turn.understood.intent)


def after_act(turn: Turn) -> str | None:
    """The knowledge base's answer with the incident notice after it, once per follower."""
    notice = incident_addendum(follower_id=turn.message.follower_id)
    return f"{turn.understood.text}\n\n{notice}" if notice else None
