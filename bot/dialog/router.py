"""Route a stored inbound message to the part of the bot that answers it."""

from django.template.loader import render_to_string

from bot.wechat.models import Message

# Menu keys (bot/wechat/menu.json) and the reply each one gets.
MENU_REPLIES = {
    "HELP": "bot/replies/help.txt",
    "VERIFY_INVOICE": "bot/replies/menu_verify_invoice.txt",
    "NOT_FOUND_HELP": "bot/replies/menu_not_found.txt",
    "DIGITAL_HELP": "bot/replies/menu_digital.txt",
    "MY_TICKETS": "bot/replies/menu_my_tickets.txt",
    "HUMAN_AGENT": "bot/replies/menu_human_agent.txt",
}


def _render(template: str, **context) -> str:
    return render_to_string(template, context).strip()


def text_reply(*, message: Message, text: str) -> str:
    """Answer free text (typed, or a voice message's recognition text)."""
    return _render("bot/replies/help.txt")


def event_reply(*, message: Message) -> str | None:
    event = message.event.lower()
    if event == "subscribe":
        return _render("bot/replies/welcome.txt")
    if event == "scan":
        return _render("bot/replies/welcome_back.txt")
    if event == "click":
        template = MENU_REPLIES.get(message.event_key)
        return _render(template) if template else _render("bot/replies/help.txt")
    # unsubscribe, VIEW, LOCATION, delivery reports: nothing to say.
    return None


def reply_to(*, message: Message) -> str | None:
    """Return the passive reply text for an inbound message, or None for `success`."""
    kind = message.msg_type
    if kind == Message.Type.TEXT:
        return text_reply(message=message, text=message.text)
    if kind == Message.Type.VOICE:
        if not message.recognition.strip():
            return _render("bot/replies/voice_unrecognised.txt")
        return text_reply(message=message, text=message.recognition)
    if kind == Message.Type.IMAGE:
        return _render("bot/replies/image_received.txt")
    if kind == Message.Type.EVENT:
        return event_reply(message=message)
    if kind == Message.Type.LOCATION:
        return None
    return _render("bot/replies/unsupported.txt")
