"""Answer the common free-text message before touching the database.

Most messages are a question the knowledge base answers, from a follower the
help desk has nothing to say to, with no invoice in it. For those the reply is
the NLU's answer and nothing else happens, so the webhook can compute it first
and store the message and its reply in one statement (`bot.wechat.services`).

`fastpath_decide` says whether a message is such a one. It runs exactly what
the router would run and checks, with pure predicates, that the router's other
stages would do nothing:

1. `helpdesk.helpdesk_turn`: nothing for a follower the shared cache knows as
   quiet (`bot.dialog.helpdesk_state`: no active ticket, no resolved one a score
   or a new message could reach) when no offer of a person is pending;
2. `invoice_turn.invoice_turn`: nothing for text without digits, spoken numerals
   or a cancel word (`invoice_turn_is_idle`);
3. the after-NLU hooks: nothing for most understood intents
   (`helpdesk_after_nlu_is_idle`, `invoice_after_nlu_is_idle`).

The predicates copy the hooks' conditions; tests/bot/dialog/test_fastpath.py
runs the hooks themselves against them so that the two cannot drift apart.
When a check fails the message takes the full path, handing over the NLU reply
already computed so that the NLU never runs twice for one message.
"""

import re
from dataclasses import dataclass

from bot.dialog import helpdesk
from bot.dialog.helpdesk_state import QUIET, quiet_key
from bot.dialog.incidents import incident_intent_matters
from bot.invoices.labels import CANCEL_WORDS
from bot.invoices.numerals import normalise
from bot.nlu.context import context_apply, context_cache_key, context_from_cached, context_ttl
from bot.nlu.loader import VERSION_KEY, kb_version_known
from bot.nlu.matcher import ANSWER
from bot.nlu.services import OFFER_HUMAN, NluReply, nlu_understand

# invoice_turn's own patterns (bot/dialog/invoice_turn.py): a bare short number is a
# quick reply; a digit (after spoken numerals are normalised) may be an invoice field.
_QUICK_REPLY = re.compile(r"\s*\d{1,2}\s*")
_DIGIT = re.compile(r"\d")
_PUNCTUATION = re.compile(r"[\s,，。.!！?？~～、；;：:]+")
# Understood intents the help desk acts on whatever the follower's tickets.
_HELPDESK_INTENTS = frozenset({"ticket_status", "human_agent", "complaint"})


@dataclass(frozen=True)
class Decision:
    """`fast`: answer `understood.text` and store nothing else; otherwise the full path.

    `understood`: the NLU reply when the NLU ran (the full path must reuse it);
    `learn`: the help-desk state was unknown, the full path should learn it;
    `kb_version`: the shared KB version read on the way (for `kb_version_known`);
    `cache_writes`/`cache_deletes`: for a fast decision, the conversation memory to
    write once the message is stored (the caller batches them with its own writes).
    """

    fast: bool
    understood: NluReply | None = None
    learn: bool = False
    kb_version: str | None = None
    cache_writes: tuple[tuple[str, object, int], ...] = ()
    cache_deletes: tuple[str, ...] = ()


def _may_cancel(text: str) -> bool:
    core = _PUNCTUATION.sub("", text).rstrip("吧了啊呀")
    return core in CANCEL_WORDS or f"{core}了" in CANCEL_WORDS


def invoice_turn_is_idle(text: str) -> bool:
    """True when `invoice_turn` returns None for this text without reading its state."""
    if not text or _QUICK_REPLY.fullmatch(text):
        return True
    if _may_cancel(text):
        return False
    return not _DIGIT.search(normalise(text))


def helpdesk_after_nlu_is_idle(nlu: NluReply) -> bool:
    """True when `helpdesk_after_nlu` does nothing for a quiet follower with no offer pending."""
    if nlu.action == OFFER_HUMAN:
        return False  # it remembers the offer
    return not (nlu.action == ANSWER and nlu.intent in _HELPDESK_INTENTS)


def invoice_after_nlu_is_idle(nlu: NluReply) -> bool:
    """True when `invoice_after_nlu` does nothing (it only starts or resumes a check)."""
    return not (nlu.action == ANSWER and nlu.intent == "verify_invoice")


def fastpath_keys(*, openid: str, text: str) -> list[str] | None:
    """The cache keys `fastpath_decide` reads; None when the text cannot take the fast path.

    The caller reads them in the round trip of its dedup claim (`bot.wechat.dedup`).
    """
    return _state_keys(openid) if invoice_turn_is_idle(text) else None


def _state_keys(openid: str) -> list[str]:
    return [quiet_key(openid), helpdesk._offer_key(openid), VERSION_KEY, context_cache_key(openid)]


def fastpath_decide(*, openid: str, text: str, found: dict | None) -> Decision:
    """Decide from the cached values of `fastpath_keys` whether the NLU's answer is the reply.

    `found`: what the cache held of those keys; None when they were not read.
    """
    if found is None:
        return Decision(fast=False)
    flag_key, offer_key, _, context_key = _state_keys(openid)
    flag, version = found.get(flag_key), found.get(VERSION_KEY)
    if flag != QUIET or offer_key in found:
        return Decision(fast=False, learn=flag is None, kb_version=version)
    with kb_version_known(version):
        result = nlu_understand(state=context_from_cached(found.get(context_key)), text=text)
    understood = result.reply
    fast = (
        bool(understood.text)
        and helpdesk_after_nlu_is_idle(understood)
        and invoice_after_nlu_is_idle(understood)
        # An active incident may have something to add: the full path tells the follower.
        and not incident_intent_matters(understood.intent)
    )
    if not fast:
        # The full path reuses this reply; the memory must be as the NLU left it.
        context_apply(openid, context=result.context, forget=result.forget)
        return Decision(fast=False, understood=understood, kb_version=version)
    writes = ()
    if result.context is not None and not result.forget:
        writes = ((context_key, result.context.as_dict(), context_ttl()),)
    return Decision(
        fast=True,
        understood=understood,
        kb_version=version,
        cache_writes=writes,
        cache_deletes=(context_key,) if result.forget else (),
    )
