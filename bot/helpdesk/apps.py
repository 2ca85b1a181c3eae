from django.apps import AppConfig


class HelpdeskConfig(AppConfig):
    name = "bot.helpdesk"
    label = "helpdesk"
    verbose_name = "客服衔接"

    def ready(self) -> None:
        from bot.helpdesk import receivers  # noqa: F401  (connects the signal receivers)
