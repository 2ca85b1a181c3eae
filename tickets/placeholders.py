"""Placeholders of canned responses: `{ticket_number}` and the like, filled per ticket."""

import re

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
PLACEHOLDERS = frozenset({"ticket_number", "invoice_number", "nickname", "agent_name", "queue"})


def canned_fill(*, text: str, values: dict[str, str]) -> str:
    """Fill {placeholders}; unknown ones and ones without a value stay as written.

    No str.format: no attribute access. A placeholder left in the text is flagged by
    `canned_unfilled` and the reply is refused until the agent edits it.
    """
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1)) or m.group(0), text)


def canned_unfilled(*, text: str) -> list[str]:
    """The known placeholders still in a text (each once, in order)."""
    names = [m.group(1) for m in _PLACEHOLDER.finditer(text or "")]
    return list(dict.fromkeys(n for n in names if n in PLACEHOLDERS))
