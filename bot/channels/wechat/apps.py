from django.apps import AppConfig


class WechatConfig(AppConfig):
    # The label stays "wechat": its migrations created the conversation tables, which
    # bot.conversations now owns (moved state-only, tables kept).
    name = "bot.channels.wechat"
    label = "wechat"
    verbose_name = "微信公众号"
    default_auto_field = "django.db.models.BigAutoField"
