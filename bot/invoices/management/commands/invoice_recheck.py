"""Re-check watched invoices now (the beat task does the same for watches that are due)."""

from django.core.management.base import BaseCommand
from django.utils import timezone

from bot.invoices.selectors import watches_active, watches_due
from bot.invoices.watching import invoice_watch_recheck


class Command(BaseCommand):
    help = "Re-check active invoice watches: --all runs every one now; --due only those due."

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--all", dest="every", action="store_true", help="every active watch")
        group.add_argument("--due", action="store_true", help="only watches whose time has come")

    def handle(self, *args, every: bool, due: bool, **options):
        ids = watches_active() if every else watches_due(now=timezone.now())
        counts: dict[str, int] = {}
        for watch_id in ids:
            watch = invoice_watch_recheck(watch_id=watch_id, force=every)
            if watch is not None:
                counts[watch.status] = counts.get(watch.status, 0) + 1
        summary = ", ".join(f"{status} {n}" for status, n in sorted(counts.items()))
        self.stdout.write(f"re-checked {len(ids)} watches" + (f": {summary}" if summary else ""))
