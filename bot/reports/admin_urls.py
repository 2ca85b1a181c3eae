"""The dashboard's pages under /admin/reports/ (mounted before admin.site.urls)."""

from django.urls import path

from bot.reports import admin_views

app_name = "reports_admin"

urlpatterns = [
    path("", admin_views.dashboard, name="dashboard"),
    path("export.csv", admin_views.export_csv, name="export"),
    path("drill/", admin_views.drill, name="drill"),
    path(
        "conversation/<int:follower_id>/<int:first_id>/<int:last_id>/",
        admin_views.conversation,
        name="conversation",
    ),
    path("unanswered/", admin_views.unanswered, name="unanswered"),
    path(
        "unanswered/paraphrases/", admin_views.unanswered_paraphrases, name="unanswered-paraphrases"
    ),
    path("unanswered/entry/", admin_views.unanswered_entry, name="unanswered-entry"),
]
