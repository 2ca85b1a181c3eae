"""The audit trail in admin: read by supervisors, never edited by anyone."""

from __future__ import annotations

import datetime

import auditlog.admin  # registers LogEntry first; replaced below
from auditlog.filters import ResourceTypeFilter
from auditlog.models import LogEntry
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path

from support.audit.trail import TrailFilter, model_choices, trail_rows
from support.roles import user_is_supervisor

PAGE_SIZE = 50


def _date(value: str) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        return None


class TrailLogEntryAdmin(auditlog.admin.LogEntryAdmin):
    """django-auditlog's entries, filterable by model, user and date; read-only."""

    list_filter = [
        ResourceTypeFilter,
        ("actor", admin.RelatedOnlyFieldListFilter),
        "action",
        ("timestamp", admin.DateFieldListFilter),
    ]
    change_list_template = "admin/audit/logentry_change_list.html"

    def has_module_permission(self, request) -> bool:
        return user_is_supervisor(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return user_is_supervisor(request.user)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def get_actions(self, request):
        return {}  # no "delete selected"

    def get_urls(self):
        trail = path("trail/", self.admin_site.admin_view(self.trail_view), name="auditlog_trail")
        return [trail, *super().get_urls()]

    def trail_view(self, request):
        """Log entries, ticket events and verification records on one page."""
        if not user_is_supervisor(request.user):
            raise PermissionDenied
        query = request.GET
        user = query.get("user", "")
        flt = TrailFilter(
            model=query.get("model", ""),
            user=int(user) if user.isdigit() else None,
            since=_date(query.get("since", "")),
            until=_date(query.get("until", "")),
        )
        try:
            page = max(1, int(query.get("page", "1")))
        except ValueError:
            page = 1
        rows = trail_rows(flt, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
        staff = get_user_model().objects.filter(is_staff=True).order_by("username")
        params = query.copy()
        params.pop("page", None)
        context = {
            **self.admin_site.each_context(request),
            "title": "变更记录（全部）",
            "opts": self.model._meta,
            "rows": rows[:PAGE_SIZE],
            "page": page,
            "has_next": len(rows) > PAGE_SIZE,
            "query": params.urlencode(),
            "filter": flt,
            "models": model_choices(),
            "users": [(u.pk, str(u)) for u in staff],
        }
        return TemplateResponse(request, "admin/audit/trail.html", context)


if admin.site.is_registered(LogEntry):
    admin.site.unregister(LogEntry)
admin.site.register(LogEntry, TrailLogEntryAdmin)
