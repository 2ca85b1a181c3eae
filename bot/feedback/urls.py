from django.urls import path

from bot.feedback import api

app_name = "feedback"

urlpatterns = [
    path("feedback/", api.SuggestionListApi.as_view(), name="api-suggestions"),
    path(
        "feedback/<int:pk>/status/", api.SuggestionStatusApi.as_view(), name="api-suggestion-status"
    ),
]
