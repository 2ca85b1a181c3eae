"""Make a backup, check one, restore one: what the commands and the beat task call."""

from __future__ import annotations

import datetime
import os
import shutil
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from support.backup import database, media, offsite
from support.backup.manifest import (
    FORMAT,
    BackupDamaged,
    BackupError,
    Manifest,
    file_digest,
    files_verify,
    manifest_read,
)


@dataclass
class BackupMade:
    directory: Path
    manifest: Manifest
    seconds: float
    offsite_name: str = ""


def _migrations(alias: str) -> dict[str, str]:
    """The last applied migration per app, for the restore's "run migrate" hint."""
    recorder = MigrationRecorder(connections[alias])
    last: dict[str, str] = {}
    for app, name in sorted(recorder.applied_migrations()):
        last[app] = max(last.get(app, ""), name)
    return last


def _output_ready(output: Path) -> None:
    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        raise BackupError(
            f"{output} already exists and is not empty: give a new directory "
            "(a backup never overwrites another)"
        )


def backup_create(*, output: Path, alias: str = "default", upload: bool = True) -> BackupMade:
    """Write database, media and manifest into a new directory; copy it off-site when set.

    Everything is written into a sibling `.partial` directory first and renamed at the
    end: a directory named `output` is always a complete backup.
    """
    started = time.monotonic()
    output = output.expanduser().absolute()
    _output_ready(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f"{output.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    try:
        created_at = timezone.now().astimezone(datetime.UTC).isoformat(timespec="seconds")
        dump_name, tables = database.database_dump(partial, alias)
        media_name, media_files = media.media_archive(partial)
        files = {}
        for name in (dump_name, media_name):
            digest, size = file_digest(partial / name)
            files[name] = {"sha256": digest, "bytes": size}
        connection = connections[alias]
        manifest = Manifest(
            {
                "format": FORMAT,
                "created_at": created_at,
                "host": socket.gethostname(),
                "database": {
                    "vendor": connection.vendor,
                    "name": str(connection.settings_dict["NAME"]),
                    "file": dump_name,
                },
                "tables": tables,
                "migrations": _migrations(alias),
                "media": {"file": media_name, "files": media_files},
                "files": files,
            }
        )
        manifest.write(partial)
        if output.exists():
            output.rmdir()  # empty, checked above
        partial.rename(output)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    made = BackupMade(output, manifest, time.monotonic() - started)
    if upload and offsite.offsite_storage() is not None:
        made.offsite_name = offsite.offsite_upload(output)
    made.seconds = time.monotonic() - started
    return made


def backup_verify(directory: Path) -> Manifest:
    """Check a backup directory: its manifest and every file's size and checksum."""
    directory = directory.expanduser().absolute()
    manifest = manifest_read(directory)
    files_verify(directory, manifest)
    for part in (manifest.database, manifest.media):
        if part["file"] not in manifest.files:
            raise BackupDamaged(f"the manifest names {part['file']} but has no checksum for it")
    return manifest


@dataclass
class RestoreDone:
    manifest: Manifest
    seconds: float
    media_files: int
    dropped_tables: list[str] = field(default_factory=list)
    pending_migrations: int = 0


def target_describe(alias: str = "default") -> str:
    """The configured database, as an operator recognises it (no password)."""
    s = connections[alias].settings_dict
    if connections[alias].vendor == "sqlite":
        return f"SQLite file {s['NAME']}"
    where = f"{s.get('HOST') or 'localhost'}:{s.get('PORT') or 5432}"
    return f"PostgreSQL database {s['NAME']} on {where} (user {s.get('USER') or '-'})"


def counts_compare(expected: dict[str, int], found: dict[str, int]) -> list[str]:
    """The differences between two sets of row counts, one line each."""
    problems = []
    for table in sorted(set(expected) | set(found)):
        if table not in found:
            problems.append(f"table {table} is missing")
        elif table not in expected:
            problems.append(f"table {table} is not in the backup")
        elif expected[table] != found[table]:
            problems.append(f"table {table}: {found[table]} rows, the backup has {expected[table]}")
    return problems


def backup_restore(
    *,
    directory: Path,
    confirm: Callable[[Manifest], bool],
    alias: str = "default",
) -> RestoreDone | None:
    """Replace the configured database and MEDIA_ROOT with a backup's, then check them.

    The backup is verified before anything is touched; `confirm` sees its manifest and
    may say no (None is returned, nothing changed).
    """
    manifest = backup_verify(directory)
    directory = directory.expanduser().absolute()
    kind = database.vendor(alias)
    if manifest.database["vendor"] != kind:
        raise BackupError(
            f"this is a {manifest.database['vendor']} backup and the configured database is "
            f"{kind}: restore it into a {manifest.database['vendor']} database"
        )
    if not confirm(manifest):
        return None
    started = time.monotonic()
    dropped = database.database_restore(
        directory / manifest.database["file"], tables=set(manifest.tables), alias=alias
    )
    media_files = media.media_restore(
        directory / manifest.media["file"], expected_files=manifest.media["files"]
    )
    problems = counts_compare(manifest.tables, database.table_counts(alias))
    if problems:
        raise BackupError(
            "the restored database does not match the backup's manifest:\n  "
            + "\n  ".join(problems)
        )
    connection = connections[alias]
    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return RestoreDone(
        manifest=manifest,
        seconds=time.monotonic() - started,
        media_files=media_files,
        dropped_tables=dropped,
        pending_migrations=len(pending),
    )


def backup_scheduled() -> dict:
    """The nightly backup: a new directory under BACKUP_DIR, off-site copy, retention."""
    root = Path(settings.BACKUP_DIR)
    root.mkdir(parents=True, exist_ok=True)
    name = offsite.offsite_name(timezone.now().isoformat())
    made = backup_create(output=root / name)
    return {
        "directory": str(made.directory),
        "offsite": made.offsite_name,
        "rows": made.manifest.rows,
        "seconds": round(made.seconds, 1),
        "pruned_local": offsite.local_prune(root),
        "pruned_offsite": offsite.offsite_prune(),
    }


def table_counts_now(alias: str = "default") -> dict[str, int]:
    """Rows per table of the configured database (what a restore would replace)."""
    return database.table_counts(alias)
