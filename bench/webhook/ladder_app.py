"""Our webhook with the product's work taken away layer by layer (`run.py --ladder`).

The same Django project, settings, middleware, URL, view, signature check, XML
parsing and reply rendering as `support.wsgi`; only what `message_receive` does
is cut down, to the stage named in LADDER_STAGE:

- `echo`: nothing — a fixed reply text (the cost of Django and the protocol alone);
- `dedup`: + the Redis dedup claim and outcome (two round trips, as the product);
- `nlu`: + the NLU: the claim round trip also reads the conversation state, the
  message is understood (`nlu_understand`, with its memo), the state written back
  with the outcome — everything of a simple turn except storing the message.

The full product is `support.wsgi` itself. Bench-only: the stage function is the
receiver the channel hands messages to (`WECHAT_MESSAGE_RECEIVER`) in this process;
nothing in the product reads LADDER_STAGE.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "support.settings")

# First: the product's WSGI application sets Django up (gc.freeze included).
from support.wsgi import application  # noqa: E402, F401

# isort: split
from django.conf import settings  # noqa: E402

from bot.channels.wechat import dedup  # noqa: E402
from bot.conversations.inbound import InboundMessage  # noqa: E402
from bot.dialog.state import ConversationState, state_key  # noqa: E402
from bot.nlu.loader import VERSION_KEY  # noqa: E402
from bot.nlu.services import nlu_understand  # noqa: E402

FIXED_REPLY = "您好，我是发票助手。"


def echo(*, inbound: InboundMessage) -> str:
    return FIXED_REPLY


def with_dedup(*, inbound: InboundMessage) -> str | None:
    claimed, _ = dedup.dedup_claim(inbound.dedup_key)
    if not claimed:
        outcome = dedup.dedup_wait(inbound.dedup_key)
        return outcome.reply if outcome else None
    dedup.dedup_remember(inbound.dedup_key, FIXED_REPLY)
    return FIXED_REPLY


def with_nlu(*, inbound: InboundMessage) -> str | None:
    key = state_key(inbound.openid)
    claimed, found = dedup.dedup_claim(inbound.dedup_key, read=[key, VERSION_KEY])
    if not claimed:
        outcome = dedup.dedup_wait(inbound.dedup_key)
        return outcome.reply if outcome else None
    state = ConversationState.from_cached(found.get(key))
    result = nlu_understand(
        state=state.nlu_context(), text=inbound.free_text or "", kb_version=found.get(VERSION_KEY)
    )
    state.nlu_apply(context=result.context, forget=result.forget)
    writes = ((key, state.cached(), state.ttl()),) if state.cached() else ()
    dedup.dedup_remember(inbound.dedup_key, result.reply.text, also_set=writes)
    return result.reply.text


STAGES = {"echo": "echo", "dedup": "with_dedup", "nlu": "with_nlu"}
settings.WECHAT_MESSAGE_RECEIVER = f"{__name__}.{STAGES[os.environ['LADDER_STAGE']]}"
