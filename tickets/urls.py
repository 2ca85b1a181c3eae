"""API routes of this app, mounted under /api/ by support/urls.py."""

from django.urls import path

from tickets import api

urlpatterns = [
    path("tickets/", api.TicketListApi.as_view(), name="api-tickets"),
    path("tickets/<int:pk>/", api.TicketDetailApi.as_view(), name="api-ticket"),
    path(
        "tickets/<int:pk>/replies/", api.TicketReplyCreateApi.as_view(), name="api-ticket-replies"
    ),
    path("tickets/<int:pk>/notes/", api.TicketNoteCreateApi.as_view(), name="api-ticket-notes"),
    path("queues/", api.QueueListApi.as_view(), name="api-queues"),
    path("canned-responses/", api.CannedResponseListApi.as_view(), name="api-canned-responses"),
]
