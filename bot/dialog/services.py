"""Writes the dialog makes about the conversation itself."""

from bot.wechat.models import Message


def message_intent_set(*, message: Message, intent: str) -> None:
    """Record what the bot understood an inbound message to be about."""
    message.intent = intent
    message.save(update_fields=["intent"])
