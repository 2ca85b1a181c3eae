"""Changes to the knowledge base. Each one republishes the KB to every process.

Publishing is a new value of the version key in the shared cache: every
process compares it with the version its in-memory index was built for on
the next message and rebuilds when they differ. Admin edits go through these
services (see `admin.KbModelAdmin`); code that writes KB rows some other way
must call `kb_version_bump()` itself.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import models, transaction

from bot.nlu.loader import set_kb_version
from bot.nlu.models import FaqEntry, Keyword


def kb_version_bump() -> None:
    """Make every process recompile the KB: now, and again once the edit commits."""
    set_kb_version(uuid.uuid4().hex)
    # The second bump stops another process from keeping a rebuild that read
    # the database before this transaction committed.
    transaction.on_commit(lambda: set_kb_version(uuid.uuid4().hex))


@transaction.atomic
def kb_object_save(*, obj: models.Model) -> models.Model:
    """Save a validated KB row (entry, keyword, synonym group …) and republish."""
    obj.save()
    kb_version_bump()
    return obj


@transaction.atomic
def kb_object_delete(*, obj: models.Model) -> None:
    """Delete a KB row and republish."""
    obj.delete()
    kb_version_bump()


@transaction.atomic
def kb_objects_delete(*, queryset: models.QuerySet) -> int:
    """Delete KB rows in bulk (admin's delete action) and republish."""
    deleted, _ = queryset.delete()
    kb_version_bump()
    return deleted


@transaction.atomic
def faq_entry_update(*, entry: FaqEntry, **fields: Any) -> FaqEntry:
    """Change fields of an FAQ entry, validated, and republish the KB."""
    for name, value in fields.items():
        setattr(entry, name, value)
    entry.full_clean()
    entry.save(update_fields=[*fields, "updated_at"])
    kb_version_bump()
    return entry


@transaction.atomic
def keyword_create(
    *,
    word: str,
    weight: float = 0.5,
    kind: str = Keyword.Kind.BOOST,
    intent_id: str | None = None,
    entry: FaqEntry | None = None,
) -> Keyword:
    """Add a keyword to an intent or an entry and republish the KB."""
    keyword = Keyword(word=word, weight=weight, kind=kind, intent_id=intent_id, entry=entry)
    keyword.full_clean()
    keyword.save()
    kb_version_bump()
    return keyword


@transaction.atomic
def keyword_update(*, keyword: Keyword, **fields: Any) -> Keyword:
    """Change a keyword's word, weight or kind, validated, and republish the KB."""
    for name, value in fields.items():
        setattr(keyword, name, value)
    keyword.full_clean()
    keyword.save(update_fields=list(fields))
    kb_version_bump()
    return keyword
