from django.apps import AppConfig


class SimulatorConfig(AppConfig):
    name = "bot.simulator"
    label = "simulator"
    verbose_name = "微信模拟器"
