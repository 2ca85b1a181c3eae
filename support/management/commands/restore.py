"""`manage.py restore DIR`: replace the database and media with a backup's, then check."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from support.backup.manifest import BackupError, Manifest
from support.backup.services import backup_restore, table_counts_now, target_describe


class Command(BaseCommand):
    help = (
        "Replace the configured database and MEDIA_ROOT with a backup made by "
        "`manage.py backup` (asks first), then check the row counts against its manifest."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", metavar="DIR", help="the backup directory")
        parser.add_argument(
            "--noinput",
            "--no-input",
            action="store_false",
            dest="interactive",
            help="do not ask for confirmation",
        )

    def handle(self, *args, directory, interactive, **options):
        self.interactive = interactive
        try:
            done = backup_restore(directory=Path(directory), confirm=self._confirm)
        except BackupError as exc:
            raise CommandError(f"restore refused: {exc}") from exc
        if done is None:
            raise CommandError("restore cancelled: nothing was changed")
        m = done.manifest
        self.stdout.write(
            self.style.SUCCESS(
                f"restored {len(m.tables)} tables ({m.rows} rows) and {done.media_files} media "
                f"files in {done.seconds:.1f} s; row counts match the manifest"
            )
        )
        if done.dropped_tables:
            self.stdout.write(f"dropped tables not in the backup: {', '.join(done.dropped_tables)}")
        if done.pending_migrations:
            self.stdout.write(
                self.style.WARNING(
                    f"the backup predates {done.pending_migrations} migrations of this code: "
                    "run `python manage.py migrate` before starting the site"
                )
            )

    def _confirm(self, manifest: Manifest) -> bool:
        target = target_describe()
        self.stdout.write(
            f"backup: made {manifest.created_at} on {manifest.body.get('host', '?')}, "
            f"{manifest.database['vendor']}, {len(manifest.tables)} tables, {manifest.rows} rows, "
            f"{manifest.media['files']} media files — checksums verified"
        )
        current = table_counts_now()
        self.stdout.write(
            f"target: {target}, now {len(current)} tables, {sum(current.values())} rows"
        )
        if not self.interactive:
            return True
        if not sys.stdin.isatty():
            raise CommandError(
                "restore refused: no terminal to ask for confirmation; "
                "run it in a terminal or pass --noinput"
            )
        self.stdout.write(
            self.style.WARNING(
                "Everything in the target database and in MEDIA_ROOT will be REPLACED by "
                "the backup. Stop the web and worker processes first."
            )
        )
        answer = input('Type "yes" to replace it, anything else to stop: ')
        return answer.strip().lower() == "yes"
