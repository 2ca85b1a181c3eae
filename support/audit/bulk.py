"""Audit entries for rows written in bulk: `bulk_create` and `update()` skip auditlog.

django-auditlog records changes from model signals, which bulk writes do not send. A
service that writes in bulk (the ledger's CSV import, "mark as uploaded" in admin)
reads the rows before and after and records them here: the same `LogEntry` rows, field
by field, with the actor of the request when there is one (auditlog's request context,
`AuditActorMiddleware`, which fills a LogEntry's actor in `pre_save`) and how the change
was made in `additional_data`.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable

from auditlog.cid import get_cid
from auditlog.diff import model_instance_diff
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db.models import Model
from django.db.models.signals import pre_save


def _stamps(model: type[Model]) -> set[str]:
    return {f.name for f in model._meta.concrete_fields if getattr(f, "auto_now", False)}


def bulk_changes_record(
    *,
    before: dict[Hashable, Model],
    after: Iterable[Model],
    key: Callable[[Model], Hashable],
    how: str,
) -> int:
    """Record a create (no row before) or an update (fields that changed) per row.

    `before`: the rows as they were, by `key`; `after`: the rows as they are now; `how`:
    what wrote them (e.g. "import_invoices"). Returns the number of entries written.
    """
    cid = get_cid()
    entries = []
    for new in after:
        old = before.get(key(new))
        changes = model_instance_diff(old, new) or {}
        if old is not None and set(changes) <= _stamps(type(new)):
            continue  # written again unchanged: only its `updated_at` moved
        if not changes:
            continue
        entries.append(
            LogEntry(
                content_type=ContentType.objects.get_for_model(new),
                object_pk=str(new.pk),
                object_id=new.pk if isinstance(new.pk, int) else None,
                object_repr=str(new)[:255],
                action=LogEntry.Action.CREATE if old is None else LogEntry.Action.UPDATE,
                changes=changes,
                cid=cid,
                additional_data={"bulk": how},
            )
        )
    for entry in entries:
        # What a save would do first: auditlog's request context (AuditActorMiddleware)
        # listens here while a request runs, and names the actor and its address.
        pre_save.send(sender=LogEntry, instance=entry, raw=False, using=None, update_fields=None)
    LogEntry.objects.bulk_create(entries, batch_size=500)
    return len(entries)
