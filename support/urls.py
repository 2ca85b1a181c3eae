from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from support import metrics, views

admin.site.site_header = "发票助手 · 客服后台"
admin.site.site_title = "发票助手"
admin.site.index_title = "客服工作台"

urlpatterns = [
    path("", include("bot.channels.wechat.urls")),
    path("simulator/", include("bot.simulator.urls")),
    # The dashboard's pages first: admin.site.urls would take /admin/reports/ as an app index.
    path("admin/reports/", include("bot.reports.admin_urls")),
    path("admin/", admin.site.urls),
    path("api/", include("tickets.urls")),
    path("api/", include("bot.invoices.urls")),
    path("api/", include("bot.notices.urls")),
    path("api/", include("bot.conversations.urls")),
    path("api/", include("bot.reports.urls")),
    path("api/", include("bot.feedback.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("healthz", views.healthz, name="healthz"),
    # Browsers ask for /favicon.ico whatever the page says; the pages link the SVG.
    path("favicon.ico", views.favicon, name="favicon"),
    path("metrics", metrics.metrics_view, name="metrics"),
]
