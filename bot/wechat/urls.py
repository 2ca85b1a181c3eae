from django.urls import path

from bot.wechat import api, views

app_name = "wechat"

urlpatterns = [
    path("wechat/", views.webhook, name="webhook"),
    path("api/followers/", api.FollowerListApi.as_view(), name="api-followers"),
    path(
        "api/followers/<str:openid>/messages/",
        api.FollowerMessagesApi.as_view(),
        name="api-follower-messages",
    ),
]
