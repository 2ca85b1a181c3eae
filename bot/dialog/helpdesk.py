"""The help desk's part of a conversation: escalation, open tickets, satisfaction.

Owned by the help-desk issue; until it lands these keep the channel's fallback
behaviour (a fixed text pointing to a person).
"""

from django.template.loader import render_to_string

from bot.nlu.services import NluReply
from bot.wechat.models import Message


def helpdesk_turn(*, message: Message, text: str) -> str | None:
    """Handle a message that belongs to the help desk before the bot reads it."""
    return None


def helpdesk_after_nlu(*, message: Message, nlu: NluReply) -> str | None:
    """Act on an understood intent that needs a person or the ticket list."""
    if nlu.action == "answer" and nlu.intent == "human_agent":
        return escalate(message=message, reason="asked", category=nlu.intent)
    if nlu.action == "answer" and nlu.intent == "ticket_status":
        return my_tickets_reply(message=message)
    return None


def escalate(*, message: Message, reason: str, category: str) -> str:
    """Hand the conversation to a person and say what happens next."""
    return render_to_string("bot/replies/menu_human_agent.txt").strip()


def my_tickets_reply(*, message: Message) -> str:
    """Show the follower's tickets."""
    return render_to_string("bot/replies/menu_my_tickets.txt").strip()
