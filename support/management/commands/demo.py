"""Set up the embedded demo (migrate, demo agent, demo conversations) and run the server."""


from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from bot.simulator.envelope import message_fields
from bot.wechat.models import Follower
from bot.wechat.services import message_receive

DEMO_USERNAME = "agent"
DEMO_PASSWORD = "fapiao-demo"  # noqa: S105 - printed on screen; demo (DEBUG) only
DEMO_CONVERSATIONS = {
    "sim-demo-zhang": ["你好", "发票查不到怎么办"],
    "sim-demo-li": ["数电票没有发票代码怎么查验"],
}


class Command(BaseCommand):
    help = "Prepare the embedded demo on first run and start the development server."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument("--no-server", action="store_true", help="set up only")

    def handle(self, *args, addrport: str, no_server: bool, **options):
        if not settings.DEBUG:
            raise CommandError("the demo runs with DJANGO_DEBUG=1 only")
        call_command("migrate", interactive=False, verbosity=0)
        self._demo_agent()
        self._demo_conversations()
        host = addrport if ":" in addrport else f"127.0.0.1:{addrport}"
        base = f"http://{host.replace('0.0.0.0', '127.0.0.1')}"  # noqa: S104
        self.stdout.write(
            self.style.SUCCESS("\n发票助手 demo is ready.\n")
            + f"  WeChat simulator : {base}/simulator/\n"
            + f"  Agent admin      : {base}/admin/   (user {DEMO_USERNAME} / {DEMO_PASSWORD})\n"
            + f"  API docs         : {base}/api/docs/\n"
            + f"  Health           : {base}/healthz\n"
        )
        if not no_server:
            call_command("runserver", addrport, use_reloader=False)

    def _demo_agent(self) -> None:
        user_model = get_user_model()
        if user_model.objects.filter(username=DEMO_USERNAME).exists():
            return
        user_model.objects.create_superuser(DEMO_USERNAME, "agent@example.invalid", DEMO_PASSWORD)
        self.stdout.write(f"created demo agent login {DEMO_USERNAME}")

    def _demo_conversations(self) -> None:
        if Follower.objects.filter(openid__startswith="sim-demo-").exists():
            return
        for openid, texts in DEMO_CONVERSATIONS.items():
            message_receive(
                fields=message_fields(openid=openid, msg_type="event", Event="subscribe"), raw=""
            )
            for text in texts:
                message_receive(
                    fields=message_fields(openid=openid, msg_type="text", Content=text), raw=""
                )
        self.stdout.write(f"created {len(DEMO_CONVERSATIONS)} demo followers with conversations")
