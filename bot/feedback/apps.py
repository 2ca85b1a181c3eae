from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    name = "bot.feedback"
    label = "feedback"
    verbose_name = "回答评价与意见建议"
    default_auto_field = "django.db.models.BigAutoField"
