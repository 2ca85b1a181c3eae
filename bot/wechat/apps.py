from django.apps import AppConfig


class WechatConfig(AppConfig):
    name = "bot.wechat"
    label = "wechat"
    verbose_name = "微信公众号"
    default_auto_field = "django.db.models.BigAutoField"
