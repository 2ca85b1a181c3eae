from django.apps import AppConfig


class NoticesConfig(AppConfig):
    name = "bot.notices"
    label = "notices"
    verbose_name = "通知"

    def ready(self) -> None:
        from bot.channels.wechat.events import delivery_reported
        from bot.notices.receivers import delivery_report_receive

        delivery_reported.connect(delivery_report_receive, dispatch_uid="notices.delivery_report")
