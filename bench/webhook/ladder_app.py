"""Our webhook with the product's work taken away layer by layer (`run.py --ladder`).

The same Django project, settings, middleware, URL, view, signature check, XML
parsing and reply rendering as `support.wsgi`; only what `message_receive` does
is cut down, to the stage named in LADDER_STAGE:

- `echo`: nothing — a fixed reply text (the cost of Django and the protocol alone);
- `dedup`: + the Redis dedup claim and outcome (two round trips, as the product);
- `nlu`: + the NLU: the claim round trip also reads the conversation memory, the
  message is understood (`nlu_understand`, with its memo), the memory written back
  with the outcome — everything of the fast path except storing the message.

The full product is `support.wsgi` itself. Bench-only: the stage functions replace
`bot.wechat.inbound.message_receive` in this process, nothing in the product reads
LADDER_STAGE.
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
from bot.nlu.context import context_cache_key, context_from_cached, context_ttl  # noqa: E402
from bot.nlu.loader import VERSION_KEY, kb_version_known  # noqa: E402
from bot.nlu.services import nlu_understand  # noqa: E402
from bot.wechat import dedup, inbound  # noqa: E402

FIXED_REPLY = "您好，我是发票助手。"


def _echo(*, fields: dict[str, str], raw: str) -> str:
    return FIXED_REPLY


def _dedup(*, fields: dict[str, str], raw: str) -> str | None:
    key = dedup.dedup_key_for(fields)
    claimed, _ = dedup.dedup_claim(key)
    if not claimed:
        outcome = dedup.dedup_wait(key)
        return outcome.reply if outcome else None
    dedup.dedup_remember(key, FIXED_REPLY)
    return FIXED_REPLY


def _nlu(*, fields: dict[str, str], raw: str) -> str | None:
    key = dedup.dedup_key_for(fields)
    memory_key = context_cache_key(fields["FromUserName"])
    claimed, found = dedup.dedup_claim(key, read=[memory_key, VERSION_KEY])
    if not claimed:
        outcome = dedup.dedup_wait(key)
        return outcome.reply if outcome else None
    with kb_version_known(found.get(VERSION_KEY)):
        result = nlu_understand(
            state=context_from_cached(found.get(memory_key)), text=fields.get("Content", "")
        )
    writes = ()
    if result.context is not None:
        writes = ((memory_key, result.context.as_dict(), context_ttl()),)
    dedup.dedup_remember(key, result.reply.text, also_set=writes)
    return result.reply.text


STAGES = {"echo": _echo, "dedup": _dedup, "nlu": _nlu}
inbound.message_receive = STAGES[os.environ["LADDER_STAGE"]]
