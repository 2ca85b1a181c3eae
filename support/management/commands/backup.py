"""`manage.py backup --output DIR`: database + media + manifest, copied off-site if set."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from support.backup import offsite
from support.backup.manifest import BackupError
from support.backup.services import backup_create, backup_verify


def _size(directory: Path) -> str:
    total = sum(path.stat().st_size for path in directory.iterdir() if path.is_file())
    return f"{total / 1024 / 1024:.1f} MiB"


class Command(BaseCommand):
    help = (
        "Back up the database and the stored media into a new directory, with a manifest "
        "(row counts per table, checksums); also copied off-site when BACKUP_S3_BUCKET is set."
    )

    def add_arguments(self, parser):
        parser.add_argument("--output", "-o", metavar="DIR", help="the new backup directory")
        parser.add_argument(
            "--no-offsite", action="store_true", help="do not copy this backup off-site"
        )
        actions = parser.add_mutually_exclusive_group()
        actions.add_argument("--verify", metavar="DIR", help="check a backup; change nothing")
        actions.add_argument(
            "--list-offsite", action="store_true", help="list the off-site backups"
        )
        actions.add_argument(
            "--fetch",
            metavar="NAME",
            help="download an off-site backup into --output DIR (and check it)",
        )
        actions.add_argument(
            "--prune", action="store_true", help="apply the retention to the off-site store now"
        )

    def handle(self, *args, output, no_offsite, verify, list_offsite, fetch, prune, **options):
        try:
            if verify:
                self._verify(Path(verify))
            elif list_offsite:
                self._list()
            elif prune:
                doomed = offsite.offsite_prune()
                self.stdout.write(f"deleted {len(doomed)} off-site backups: {' '.join(doomed)}")
            elif fetch:
                if not output:
                    raise CommandError("--fetch needs --output DIR (a new directory)")
                directory = Path(output).expanduser().absolute()
                if directory.exists():
                    raise CommandError(f"{directory} already exists: give a new directory")
                offsite.offsite_fetch(fetch, directory)
                self._verify(directory)
            else:
                if not output:
                    raise CommandError("give the new backup's directory: --output DIR")
                self._create(Path(output), upload=not no_offsite)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc

    def _create(self, output: Path, *, upload: bool) -> None:
        made = backup_create(output=output, upload=upload)
        m = made.manifest
        self.stdout.write(
            self.style.SUCCESS(f"backup written to {made.directory} in {made.seconds:.1f} s")
        )
        self.stdout.write(
            f"  database: {m.database['vendor']} {m.database['name']}, {len(m.tables)} tables, "
            f"{m.rows} rows\n  media: {m.media['files']} files\n  size: {_size(made.directory)}"
        )
        if made.offsite_name:
            self.stdout.write(f"  off-site: {made.offsite_name}")
        elif upload and offsite.offsite_storage() is None:
            self.stdout.write("  off-site: not configured (BACKUP_S3_BUCKET)")
        self.stdout.write(f"restore with: python manage.py restore {made.directory}")

    def _verify(self, directory: Path) -> None:
        manifest = backup_verify(directory)
        self.stdout.write(
            self.style.SUCCESS(
                f"{directory}: complete and undamaged ({manifest.database['vendor']}, "
                f"{len(manifest.tables)} tables, {manifest.rows} rows, "
                f"{manifest.media['files']} media files, made {manifest.created_at})"
            )
        )

    def _list(self) -> None:
        if offsite.offsite_storage() is None:
            raise CommandError("no off-site storage is configured (BACKUP_S3_BUCKET)")
        for backup in offsite.offsite_list():
            state = "" if backup.complete else "  (incomplete: no manifest)"
            self.stdout.write(f"{backup.name}  {backup.at:%Y-%m-%d %H:%M} UTC{state}")
