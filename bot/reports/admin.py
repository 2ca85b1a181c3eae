"""The reports' own rows in admin: alarm episodes and mining actions (read-only).

The dashboard itself is /admin/reports/ (admin_views.py); it is also this app's index
in the admin menu.
"""

from django.contrib import admin

from bot.reports.models import AlarmEpisode, ClusterAction
from support.roles import user_is_supervisor


class ReadOnlyForSupervisors(admin.ModelAdmin):
    def has_module_permission(self, request) -> bool:
        return user_is_supervisor(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return user_is_supervisor(request.user)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AlarmEpisode)
class AlarmEpisodeAdmin(ReadOnlyForSupervisors):
    list_display = [
        "kind", "opened_at", "closed_at", "rate", "peak_rate", "threshold", "failures", "total",
        "notified_at",
    ]  # fmt: skip
    list_filter = ["kind"]
    date_hierarchy = "opened_at"


@admin.register(ClusterAction)
class ClusterActionAdmin(ReadOnlyForSupervisors):
    list_display = ["created_at", "kind", "label", "entry_key", "created_by"]
    list_filter = ["kind"]
    search_fields = ["label", "entry_key"]
