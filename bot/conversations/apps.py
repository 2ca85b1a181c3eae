from django.apps import AppConfig


class ConversationsConfig(AppConfig):
    name = "bot.conversations"
    label = "conversations"
    verbose_name = "粉丝与会话"
    default_auto_field = "django.db.models.BigAutoField"
