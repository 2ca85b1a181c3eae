"""Route a stored inbound message to the part of the bot that answers it.

Free text (typed, or a voice message's recognition text) goes through three
stages, each owned by one module:

1. `helpdesk.helpdesk_turn`: a pending satisfaction answer, or a message that
   joins the follower's open ticket (it may still let the bot answer);
2. `invoice_turn.invoice_turn`: invoice fields in the text, or an ongoing
   slot-filling conversation (取消 included);
3. `bot.nlu.nlu_reply`: intent and knowledge-base answer; then the helpdesk and
   invoice modules may act on the understood intent (escalate, show tickets,
   start verification) before the knowledge-base answer is sent.

A stage returns the reply text, or None to pass the message on.
"""

from django.template.loader import render_to_string

from bot.dialog import helpdesk, invoice_turn
from bot.dialog.incidents import incident_addendum, incident_intent_matters
from bot.dialog.services import message_intent_set
from bot.nlu.services import NluReply, nlu_reply
from bot.wechat.models import Message

# Menu keys (bot/wechat/menu.json) answered by a fixed text.
MENU_REPLIES = {
    "HELP": "bot/replies/help.txt",
    "NOT_FOUND_HELP": "bot/replies/menu_not_found.txt",
    "DIGITAL_HELP": "bot/replies/menu_digital.txt",
}


def _render(template: str, **context) -> str:
    return render_to_string(template, context).strip()


def text_reply(*, message: Message, text: str, understood: NluReply | None = None) -> str:
    """Answer free text (typed, or a voice message's recognition text).

    `understood`: the NLU's reply to this text, when the webhook's fast path
    already computed it (`bot.dialog.fastpath`); the NLU then does not run again.
    """
    reply = helpdesk.helpdesk_turn(message=message, text=text)
    if reply is not None:
        return reply
    reply = invoice_turn.invoice_turn(message=message, text=text)
    if reply is not None:
        return reply
    if understood is None:
        understood = nlu_reply(conversation_key=message.follower.openid, text=text)
    message_intent_set(message=message, intent=understood.intent)
    for after_nlu in (helpdesk.helpdesk_after_nlu, invoice_turn.invoice_after_nlu):
        reply = after_nlu(message=message, nlu=understood)
        if reply is not None:
            return reply
    if incident_intent_matters(understood.intent):
        notice = incident_addendum(message=message)
        if notice:
            return f"{understood.text}\n\n{notice}"
    return understood.text


def menu_reply(*, message: Message) -> str:
    key = message.event_key
    if key == "VERIFY_INVOICE":
        return invoice_turn.invoice_start(message=message)
    if key == "MY_TICKETS":
        return helpdesk.my_tickets_reply(message=message)
    if key == "HUMAN_AGENT":
        return helpdesk.escalate(message=message, reason="asked", category="human_agent")
    return _render(MENU_REPLIES.get(key, "bot/replies/help.txt"))


def event_reply(*, message: Message) -> str | None:
    event = message.event.lower()
    if event == "subscribe":
        return _render("bot/replies/welcome.txt")
    if event == "scan":
        return _render("bot/replies/welcome_back.txt")
    if event == "click":
        return menu_reply(message=message)
    # unsubscribe, VIEW, LOCATION, delivery reports: nothing to say.
    return None


def reply_to(
    *,
    message: Message,
    understood: NluReply | None = None,
    photo: invoice_turn.PhotoRead | None = None,
) -> str | None:
    """Return the passive reply text for an inbound message, or None for `success`.

    `understood`: see `text_reply` (free text only). `photo`: an image message's photo
    already read by the webhook (`invoice_turn.photo_read`), outside the transaction.
    """
    kind = message.msg_type
    if kind == Message.Type.TEXT:
        return text_reply(message=message, text=message.text, understood=understood)
    if kind == Message.Type.VOICE:
        if not message.recognition.strip():
            return _render("bot/replies/voice_unrecognised.txt")
        return text_reply(message=message, text=message.recognition, understood=understood)
    if kind == Message.Type.IMAGE:
        return invoice_turn.invoice_photo(message=message, read=photo)
    if kind == Message.Type.EVENT:
        return event_reply(message=message)
    if kind == Message.Type.LOCATION:
        return None
    return _render("bot/replies/unsupported.txt")
