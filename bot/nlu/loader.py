"""The per-process compiled KB, rebuilt when the shared version key changes.

Each call costs one cache GET of the version key; the index is rebuilt from
the database only when that value differs from the one it was built for.
A caller that has just read the key itself, in a round trip it makes anyway
(the receive path reads it with the dedup claim), passes the value
(`current_index(version=...)`) and saves the GET. Nothing is cached across
calls: an edit made in any process is seen by the next message everywhere.
"""

from __future__ import annotations

import threading
import uuid

from django.core.cache import cache

from bot.nlu.kbindex import KbIndex

VERSION_KEY = "nlu:kb_version"

_lock = threading.Lock()
_current: KbIndex | None = None


def kb_version() -> str:
    """Return the shared KB version, creating one if the cache has none."""
    version = cache.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, uuid.uuid4().hex, timeout=None)
        version = cache.get(VERSION_KEY) or ""
    return version


def set_kb_version(version: str) -> None:
    cache.set(VERSION_KEY, version, timeout=None)


def current_index(*, version: str | None = None) -> KbIndex:
    """Return this process's index for the current KB version.

    `version`: the shared version, when the caller just read it (None: read it here).
    """
    global _current
    version = version or kb_version()
    index = _current
    if index is not None and index.version == version:
        return index
    with _lock:
        if _current is None or _current.version != version:
            from bot.nlu.selectors import kb_snapshot

            _current = KbIndex.build(kb_snapshot(), version=version)
        return _current


def forget_index() -> None:
    """Drop the process index (tests; the next call rebuilds it)."""
    global _current
    with _lock:
        _current = None
