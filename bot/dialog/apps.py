from django.apps import AppConfig


class DialogConfig(AppConfig):
    name = "bot.dialog"
    label = "dialog"
    verbose_name = "对话"
