from django.apps import AppConfig


class NoticesConfig(AppConfig):
    name = "bot.notices"
    label = "notices"
    verbose_name = "通知"
