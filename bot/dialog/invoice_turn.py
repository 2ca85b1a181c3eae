"""The invoice part of a conversation: fields in text, photos, slot filling.

Owned by the invoice issue; until it lands these keep the channel's fallback
behaviour (instructions on what to send).
"""

from django.template.loader import render_to_string

from bot.nlu.services import NluReply
from bot.wechat.models import Message


def invoice_turn(*, message: Message, text: str) -> str | None:
    """Answer a message carrying invoice fields, or continue collecting them."""
    return None


def invoice_after_nlu(*, message: Message, nlu: NluReply) -> str | None:
    """Act on an understood intent that starts an invoice check."""
    return None


def invoice_start(*, message: Message) -> str:
    """Ask for the fields an invoice check needs."""
    return render_to_string("bot/replies/menu_verify_invoice.txt").strip()


def invoice_photo(*, message: Message) -> str:
    """Answer a photo: read the invoice's QR code."""
    return render_to_string("bot/replies/image_received.txt").strip()
