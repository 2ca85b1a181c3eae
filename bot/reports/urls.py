from django.urls import path

from bot.reports import api

app_name = "reports"

urlpatterns = [
    path("reports/summary/", api.SummaryApi.as_view(), name="api-summary"),
    path("reports/unanswered/", api.UnansweredApi.as_view(), name="api-unanswered"),
]
