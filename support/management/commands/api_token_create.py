"""Create an API token for a staff user and print it once; only its hash is stored."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from knox.models import get_token_model
from knox.settings import knox_settings


class Command(BaseCommand):
    help = "Create an API token for USERNAME and print it once (stored hashed, with an expiry)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="days until the token expires (default: API_TOKEN_TTL_DAYS)",
        )

    def handle(self, *args, username: str, days: int | None, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user {username!r}")
        if not (user.is_active and user.is_staff):
            raise CommandError(f"{username!r} is not an active staff user")
        if days is not None and days < 1:
            raise CommandError("--days must be at least 1")
        expiry = knox_settings.TOKEN_TTL if days is None else timedelta(days=days)
        instance, token = get_token_model().objects.create(user=user, expiry=expiry)
        # The token itself is not stored anywhere: this is the only time it is shown.
        self.stdout.write(token)
        self.stderr.write(
            f"Token for {username}, expires {instance.expiry:%Y-%m-%d %H:%M %Z}. "
            "Shown once: only its hash is kept."
        )
