from django.apps import AppConfig


class InvoicesConfig(AppConfig):
    name = "bot.invoices"
    label = "invoices"
    verbose_name = "发票"
    default_auto_field = "django.db.models.BigAutoField"
