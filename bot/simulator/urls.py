from django.urls import path

from bot.simulator import views

app_name = "simulator"

urlpatterns = [
    path("", views.page, name="page"),
    path("api/followers", views.followers, name="followers"),
    path("api/envelope", views.envelope, name="envelope"),
    path("api/open", views.open_view, name="open"),
    path("api/pushed", views.pushed, name="pushed"),
    path("api/history", views.history, name="history"),
    path("api/upload", views.upload, name="upload"),
    path("media/<str:media_id>", views.media, name="media"),
]
