"""API routes of this app, mounted under /api/ by support/urls.py."""

from django.urls import path

from bot.notices import api

urlpatterns = [
    path("broadcasts/", api.BroadcastCreateApi.as_view(), name="api-broadcasts"),
    path("broadcasts/<int:pk>/", api.BroadcastDetailApi.as_view(), name="api-broadcast-detail"),
    path(
        "broadcasts/<int:pk>/cancel/",
        api.BroadcastCancelApi.as_view(),
        name="api-broadcast-cancel",
    ),
]
