from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "bot.reports"
    label = "reports"
    verbose_name = "数据看板"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from bot.reports.alarms import webhook_counters_install

        webhook_counters_install()
