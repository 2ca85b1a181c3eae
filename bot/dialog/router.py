"""Route a message to the part of the bot that answers it: one chain of hooks.

Free text (typed, or a voice message's recognition) goes through
`BEFORE_NLU` hooks, the NLU, then `AFTER_NLU` hooks; the first hook that
returns a reply answers, else the knowledge base's answer does. Every hook
brings its own "would I act?" predicate (`wants`), read from the turn alone —
the cached conversation state and help-desk flag, the text, the understood
reply — and its act runs only when the predicate holds. A hook without a
predicate cannot be registered.

`turn_is_simple` composes the same predicates: when none holds, the reply is
the knowledge base's answer and nothing else happens, so the receive path can
store the whole turn at once (`bot.dialog.receive`). Nothing is copied: a hook
added here is seen by both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.template.loader import render_to_string

from bot.conversations.models import Message
from bot.conversations.services import message_intent_set
from bot.dialog.hooks import feedback, helpdesk, incidents, invoices
from bot.dialog.state import Turn
from bot.nlu.services import nlu_understand
from bot.nlu.vocabulary import NluAction


@dataclass(frozen=True)
class Hook:
    """A step of the chain: `act` runs only when `wants` holds (the hook's own guard)."""

    name: str
    wants: Callable[[Turn], bool]
    act: Callable[[Turn], str | None]

    def __post_init__(self) -> None:
        if not callable(self.wants) or not callable(self.act):
            raise TypeError(f"hook {self.name!r} needs a `wants` predicate and an `act`")

    def run(self, turn: Turn) -> str | None:
        return self.act(turn) if self.wants(turn) else None


# The home-region list of causes of "not found" (it rewrites the understood answer and lets
# the chain go on); the menu's questions pass through it too, so a click and the typed
# question still get the same answer.
_CAUSES = Hook("invoices.causes", invoices.causes_wants, invoices.causes_act)

BEFORE_NLU: tuple[Hook, ...] = (
    Hook("helpdesk.join_or_rate", helpdesk.before_wants, helpdesk.before_act),
    Hook("feedback.rate", feedback.rate_wants, feedback.rate_act),
    Hook("invoices.slots", invoices.slots_wants, invoices.slots_act),
)
AFTER_NLU: tuple[Hook, ...] = (
    Hook("feedback.suggestion", feedback.suggestion_wants, feedback.suggestion_act),
    Hook("helpdesk.escalate_or_list", helpdesk.after_wants, helpdesk.after_act),
    Hook("invoices.recheck", invoices.recheck_wants, invoices.recheck_act),
    Hook("invoices.start", invoices.start_wants, invoices.start_act),
    _CAUSES,
    Hook("incidents.notice", incidents.after_wants, incidents.after_act),
    # Last: it adds the prompt to rate the knowledge base's answer, the reply nobody else gave.
    Hook("feedback.ask", feedback.ask_wants, feedback.ask_act),
)

# Menu keys (bot/channels/wechat/menu.json) that ask the knowledge base the question their
# button names, so a click and the typed question get the same answer (and the same topic
# for follow-ups); the fixed text is the fallback when the KB has no answer to it.
MENU_QUESTIONS = {
    "NOT_FOUND_HELP": ("发票查不到怎么办", "bot/replies/menu_not_found.txt"),
    "DIGITAL_HELP": ("数电票怎么查验", "bot/replies/menu_digital.txt"),
}


def _render(template: str, **context) -> str:
    return render_to_string(template, context).strip()


def understand(turn: Turn) -> None:
    """Run the NLU once per turn; its memory goes into the conversation state."""
    if turn.understood is not None:
        return
    result = nlu_understand(
        state=turn.state.nlu_context(), text=turn.text or "", kb_version=turn.kb_version
    )
    turn.state.nlu_apply(context=result.context, forget=result.forget)
    turn.understood = result.reply


def turn_is_simple(turn: Turn) -> bool:
    """Whether the knowledge base's answer is the whole reply (no hook would act)."""
    if turn.text is None or any(hook.wants(turn) for hook in BEFORE_NLU):
        return False
    understand(turn)
    if not turn.understood.text:
        return False
    return not any(hook.wants(turn) for hook in AFTER_NLU)


def text_reply(turn: Turn) -> str:
    """Answer free text through the chain; `turn.message` is stored."""
    for hook in BEFORE_NLU:
        reply = hook.run(turn)
        if reply is not None:
            return reply
    understand(turn)
    message_intent_set(message=turn.message, intent=turn.understood.intent)
    for hook in AFTER_NLU:
        reply = hook.run(turn)
        if reply is not None:
            return reply
    return turn.understood.text


def _menu_question(turn: Turn, question: str, fallback: str) -> str:
    result = nlu_understand(
        state=turn.state.nlu_context(), text=question, kb_version=turn.kb_version
    )
    if result.reply.action != NluAction.ANSWER or not result.reply.text:
        return _render(fallback)
    turn.state.nlu_apply(context=result.context, forget=result.forget)
    turn.understood = result.reply
    _CAUSES.run(turn)
    return turn.understood.text


def menu_reply(turn: Turn) -> str:
    key = turn.message.event_key
    if key == "VERIFY_INVOICE":
        return invoices.invoice_start(turn)
    if key == "MY_TICKETS":
        return helpdesk.my_tickets_reply(requester_ref=turn.openid)
    if key == "HUMAN_AGENT":
        return helpdesk.menu_escalate(turn)
    if key in MENU_QUESTIONS:
        return _menu_question(turn, *MENU_QUESTIONS[key])
    return _render("bot/replies/help.txt")


def event_reply(turn: Turn) -> str | None:
    event = turn.message.event.lower()
    if event == "subscribe":
        return _render("bot/replies/welcome.txt")
    if event == "scan":
        return _render("bot/replies/welcome_back.txt")
    if event == "click":
        return menu_reply(turn)
    # unsubscribe, VIEW, LOCATION, delivery reports: nothing to say.
    return None


def reply_to(turn: Turn) -> str | None:
    """Return the passive reply for a stored inbound message, or None for `success`."""
    kind = turn.message.msg_type
    if kind in (Message.Type.TEXT, Message.Type.VOICE):
        if turn.text is None:
            return _render("bot/replies/voice_unrecognised.txt")
        return text_reply(turn)
    if kind == Message.Type.IMAGE:
        return invoices.invoice_photo(turn)
    if kind == Message.Type.EVENT:
        return event_reply(turn)
    if kind == Message.Type.LOCATION:
        return None
    return _render("bot/replies/unsupported.txt")
