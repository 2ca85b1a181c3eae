"""One list of changes from three sources: audit log entries, ticket events, checks.

Each source keeps its own table (the ticket events are the help desk's own trail; the
verification records are the bot's); this module reads them side by side, newest
first, with the same filters. `support` imports no app: the two app models are found
through the app registry by label.
"""

from __future__ import annotations

import datetime
import heapq
from dataclasses import dataclass, field

from auditlog.models import LogEntry
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

TICKET_EVENTS = "tickets.ticketevent"
CHECKS = "invoices.verificationrecord"
_ACTIONS = {
    LogEntry.Action.CREATE: "新增",
    LogEntry.Action.UPDATE: "修改",
    LogEntry.Action.DELETE: "删除",
    LogEntry.Action.ACCESS: "查看",
}


@dataclass(frozen=True)
class TrailFilter:
    """`model`: a content type id of the log, or TICKET_EVENTS / CHECKS; `user`: a user id."""

    model: str = ""
    user: int | None = None
    since: datetime.date | None = None
    until: datetime.date | None = None


@dataclass
class TrailRow:
    at: datetime.datetime
    source: str  # what kind of record (the model's verbose name)
    action: str
    object: str
    actor: str
    changes: list[tuple[str, str, str]] = field(default_factory=list)  # field, old, new
    url: str = ""
    request_id: str = ""


def _model(label: str):
    try:
        return apps.get_model(label)
    except LookupError:
        return None


def _bounds(queryset, name: str, flt: TrailFilter):
    zone = timezone.get_current_timezone()
    if flt.since:
        start = datetime.datetime.combine(flt.since, datetime.time.min, tzinfo=zone)
        queryset = queryset.filter(**{f"{name}__gte": start})
    if flt.until:
        end = datetime.datetime.combine(
            flt.until + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone
        )
        queryset = queryset.filter(**{f"{name}__lt": end})
    return queryset


def _url(name: str, *args) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def _text(value) -> str:
    if value is None:
        return "—"
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= 300 else text[:300] + "…"


def _change(name: str, value) -> tuple[str, str, str]:
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return name, _text(value[0]), _text(value[1])
    if isinstance(value, dict):  # a many-to-many change: {"operation", "objects", …}
        objects = "、".join(map(str, value.get("objects", [])))
        return name, value.get("operation", ""), _text(objects)
    return name, "", _text(value)


def _log_rows(flt: TrailFilter, limit: int):
    entries = LogEntry.objects.select_related("actor", "content_type").order_by("-timestamp")
    if flt.model and flt.model.isdigit():
        entries = entries.filter(content_type_id=int(flt.model))
    if flt.user:
        entries = entries.filter(actor_id=flt.user)
    for entry in _bounds(entries, "timestamp", flt)[:limit]:
        model = entry.content_type.model_class() if entry.content_type_id else None
        changes = [
            _change(name, value) for name, value in (entry.changes_display_dict or {}).items()
        ]
        url = ""
        if model is not None and entry.action != LogEntry.Action.DELETE:
            url = _url(
                f"admin:{model._meta.app_label}_{model._meta.model_name}_change", entry.object_pk
            )
        yield TrailRow(
            at=entry.timestamp,
            source=str(model._meta.verbose_name) if model else entry.content_type.model,
            action=_ACTIONS.get(entry.action, str(entry.action)),
            object=entry.object_repr,
            actor=str(entry.actor) if entry.actor_id else "系统",
            changes=changes,
            url=url,
            request_id=entry.cid or "",
        )


def _ticket_event_rows(flt: TrailFilter, limit: int):
    event = _model(TICKET_EVENTS)
    if event is None:
        return
    events = event.objects.select_related("ticket", "actor").order_by("-at", "-id")
    if flt.user:
        events = events.filter(actor_id=flt.user)
    for row in _bounds(events, "at", flt)[:limit]:
        changes = []
        if row.from_value is not None or row.to_value is not None:
            changes.append((row.get_action_display(), _text(row.from_value), _text(row.to_value)))
        if row.note:
            changes.append(("说明", "", _text(row.note)))
        yield TrailRow(
            at=row.at,
            source=str(event._meta.verbose_name),
            action=row.get_action_display(),
            object=row.ticket.number,
            actor=str(row.actor) if row.actor_id else "系统",
            changes=changes,
            url=_url("admin:tickets_ticket_change", row.ticket_id),
        )


def _check_rows(flt: TrailFilter, limit: int):
    record = _model(CHECKS)
    if record is None or flt.user:  # checks are made by followers, never by a staff user
        return
    records = record.objects.order_by("-created_at", "-id")
    for row in _bounds(records, "created_at", flt)[:limit]:
        yield TrailRow(
            at=row.created_at,
            source=str(record._meta.verbose_name),
            action=row.get_source_display(),
            object=str(row),
            actor=f"粉丝 #{row.follower_id}" if row.follower_id else "系统",
            changes=[
                ("查验渠道", "", row.backend or "—"),
                ("查验结果", "", row.get_result_display()),
                ("诊断", "", row.diagnosis or "—"),
            ],
            url=_url("admin:invoices_verificationrecord_change", row.pk),
        )


def trail_rows(flt: TrailFilter, *, offset: int, limit: int) -> list[TrailRow]:
    """One page of the merged trail, newest first."""
    wanted = offset + limit + 1  # one more: tells whether a next page exists
    sources = []
    if not flt.model or flt.model.isdigit():
        sources.append(_log_rows(flt, wanted))
    if not flt.model or flt.model == TICKET_EVENTS:
        sources.append(_ticket_event_rows(flt, wanted))
    if not flt.model or flt.model == CHECKS:
        sources.append(_check_rows(flt, wanted))
    merged = heapq.merge(*sources, key=lambda row: row.at, reverse=True)
    return [row for _, row in zip(range(wanted), merged, strict=False)][offset:]


def model_choices() -> list[tuple[str, str]]:
    """The filter's models: those with log entries, then the two trails of their own."""
    ids = LogEntry.objects.order_by().values_list("content_type_id", flat=True).distinct()
    types = ContentType.objects.filter(pk__in=list(ids))
    choices = sorted(
        (
            (str(ct.pk), str(ct.model_class()._meta.verbose_name if ct.model_class() else ct.model))
            for ct in types
        ),
        key=lambda choice: choice[1],
    )
    for label in (TICKET_EVENTS, CHECKS):
        model = _model(label)
        if model is not None:
            choices.append((label, str(model._meta.verbose_name)))
    return choices
