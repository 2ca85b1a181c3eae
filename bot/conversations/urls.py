from django.urls import path

from bot.conversations import api

app_name = "conversations"

urlpatterns = [
    path("followers/", api.FollowerListApi.as_view(), name="api-followers"),
    path(
        "followers/<str:openid>/messages/",
        api.FollowerMessagesApi.as_view(),
        name="api-follower-messages",
    ),
    path("attachments/<int:pk>/", api.AttachmentFileApi.as_view(), name="api-attachment"),
]
