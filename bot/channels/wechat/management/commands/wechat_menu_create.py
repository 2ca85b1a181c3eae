"""Create the official account's custom menu from the file in the repo."""

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from bot.channels.wechat.client import WeChatApiError, wechat_client, wechat_configured


class Command(BaseCommand):
    help = "Create the WeChat custom menu from WECHAT_MENU_FILE (bot/channels/wechat/menu.json)."

    def add_arguments(self, parser):
        parser.add_argument("--file", default=None, help="menu JSON file")

    def handle(self, *args, **options):
        path = Path(options["file"] or settings.WECHAT_MENU_FILE)
        try:
            menu = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CommandError(f"cannot read menu file {path}: {exc}") from exc
        if not isinstance(menu, dict) or not menu.get("button"):
            raise CommandError(f"{path} has no 'button' list")
        if not wechat_configured():
            raise CommandError("WECHAT_APP_SECRET is not set: no account to create a menu on")
        try:
            wechat_client().menu.create(menu)
        except WeChatApiError as exc:
            raise CommandError(f"WeChat refused the menu: {exc}") from exc
        self.stdout.write(self.style.SUCCESS(f"menu created from {path}"))
