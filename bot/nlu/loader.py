"""The per-process compiled KB, rebuilt when the shared version key changes.

Each call costs one cache GET of the version key; the index is rebuilt from
the database only when that value differs from the one it was built for.
A caller that has just read the key itself, in a round trip it makes anyway
(the webhook's fast path), hands the value over with `kb_version_known` and
saves the GET. Nothing is cached across calls: an edit made in any process is
seen by the next message everywhere.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.cache import cache

from bot.nlu.kbindex import KbIndex

VERSION_KEY = "nlu:kb_version"

_lock = threading.Lock()
_current: KbIndex | None = None
# A version value read by the caller in this thread, valid inside `kb_version_known`.
_known = threading.local()


@contextmanager
def kb_version_known(version: str | None) -> Iterator[None]:
    """Use `version`, just read from the shared cache, instead of reading it again.

    None (the key was missing) changes nothing: the key is read and created as usual.
    """
    previous = getattr(_known, "version", None)
    _known.version = version
    try:
        yield
    finally:
        _known.version = previous


def kb_version() -> str:
    """Return the shared KB version, creating one if the cache has none."""
    version = getattr(_known, "version", None)
    if version:
        return version
    version = cache.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, uuid.uuid4().hex, timeout=None)
        version = cache.get(VERSION_KEY) or ""
    return version


def set_kb_version(version: str) -> None:
    cache.set(VERSION_KEY, version, timeout=None)


def current_index() -> KbIndex:
    """Return this process's index for the current KB version."""
    global _current
    version = kb_version()
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
