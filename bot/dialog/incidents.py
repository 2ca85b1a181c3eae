"""Tell a follower whose problem matches an active incident about it, once.

Called after the NLU understood an outage-like question (no region known) and
after an invoice check failed in a way an incident explains (with the invoice's
region). Costs one cache read while no incident is public.
"""

from django.conf import settings

from bot.notices.incidents import incident_notice_for
from bot.notices.selectors import incidents_any_active
from bot.wechat.models import Message


def incident_intent_matters(intent: str) -> bool:
    """Whether an understood intent is one an active incident may explain."""
    return intent in settings.NOTICES_INCIDENT_INTENTS and incidents_any_active()


def incident_result_matters(result: str) -> bool:
    """Whether a verification result is one an active incident may explain."""
    return result in settings.NOTICES_INCIDENT_RESULTS and incidents_any_active()


def incident_addendum(*, message: Message, region: str | None = None) -> str | None:
    """The incident notice to add to the reply (links the follower as affected), or None."""
    return incident_notice_for(message.follower_id, region)
