"""Build the reports' rollups now: every day due (or the last N), and every ticket row.

The beat task (`reports-refresh`) keeps them current a few days at a time; this is for
the first run on a database with history, or after a change of definitions.
"""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from bot.reports import services
from bot.reports.definitions import day_of
from bot.reports.outcomes import TurnClassifier


class Command(BaseCommand):
    help = "Build the reports' daily rollups and ticket rows (the beat task's work, at once)."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=None, help="only the last N days")
        parser.add_argument("--all", action="store_true", help="rebuild settled days too")

    def handle(self, *args, days, all, verbosity=1, **kw):
        started = timezone.now()
        tickets = services.reports_tickets_refresh(now=started, full=True)
        if verbosity:
            self.stdout.write(f"{tickets} ticket rows")
        if all:
            today = day_of(started)
            count = days or int(settings.REPORTS_BACKFILL_DAYS)
            due = [today - timedelta(days=n) for n in range(1, count + 1)]
        else:
            due = services.reports_days_due(now=started, limit=days)
        classifier = TurnClassifier.from_live_kb()
        for n, day in enumerate(due, 1):
            services.reports_day_build(day=day, classifier=classifier, now=started)
            if verbosity and (n % 30 == 0 or n == len(due)):
                self.stdout.write(f"{n}/{len(due)} days built ({day})")
        seconds = (timezone.now() - started).total_seconds()
        self.stdout.write(
            self.style.SUCCESS(f"{len(due)} days, {tickets} tickets in {seconds:.0f} s")
        )
