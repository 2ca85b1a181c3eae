from django.urls import path

from bot.channels.wechat import views

app_name = "wechat"

urlpatterns = [path("wechat/", views.webhook, name="webhook")]
