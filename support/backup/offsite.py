"""Off-site copies: the same backup directory in an S3-compatible store (django-storages).

Configured as the storage alias `backups` (`BACKUP_S3_*`, support/settings.py). Each
backup is a folder `fapiao-<UTC time>/` holding the backup's files, the manifest
uploaded last (a folder without one is an interrupted upload and is never fetched).
Retention keeps the newest backup of each of the last `BACKUP_KEEP_DAILY` days that have
one and of each of the last `BACKUP_KEEP_WEEKLY` ISO weeks; the rest is deleted.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import storages
from django.core.files.storage.handler import InvalidStorageError

from support.backup.manifest import MANIFEST, BackupError, manifest_read

ALIAS = "backups"
NAME_RE = re.compile(r"^fapiao-(\d{8}T\d{6}Z)$")


def offsite_storage():
    """The off-site storage, or None when it is not configured."""
    if ALIAS not in settings.STORAGES:
        return None
    try:
        return storages[ALIAS]
    except InvalidStorageError:
        return None


def offsite_name(created_at: str) -> str:
    moment = datetime.datetime.fromisoformat(created_at).astimezone(datetime.UTC)
    return f"fapiao-{moment:%Y%m%dT%H%M%SZ}"


def name_time(name: str) -> datetime.datetime | None:
    match = NAME_RE.match(name)
    if not match:
        return None
    return datetime.datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.UTC)


def offsite_upload(directory: Path, *, storage=None) -> str:
    """Copy a backup directory off-site; return its name there."""
    storage = storage or offsite_storage()
    if storage is None:
        raise BackupError("no off-site storage is configured (BACKUP_S3_BUCKET)")
    manifest = manifest_read(directory)
    name = offsite_name(manifest.created_at)
    for file_name in [*sorted(manifest.files), MANIFEST]:
        with (directory / file_name).open("rb") as handle:
            saved = storage.save(f"{name}/{file_name}", File(handle))
        if saved != f"{name}/{file_name}":
            raise BackupError(f"the off-site store renamed {name}/{file_name} to {saved}")
    return name


@dataclass(frozen=True)
class OffsiteBackup:
    name: str
    at: datetime.datetime
    complete: bool


def offsite_list(*, storage=None) -> list[OffsiteBackup]:
    """The backups in the off-site store, newest first."""
    storage = storage or offsite_storage()
    if storage is None:
        return []
    folders, _ = storage.listdir("")
    found = []
    for folder in folders:
        folder = folder.rstrip("/")
        at = name_time(folder)
        if at is not None:
            found.append(OffsiteBackup(folder, at, storage.exists(f"{folder}/{MANIFEST}")))
    return sorted(found, key=lambda backup: backup.at, reverse=True)


def offsite_fetch(name: str, directory: Path, *, storage=None) -> None:
    """Download one off-site backup into a new directory (verified by the caller)."""
    storage = storage or offsite_storage()
    if storage is None:
        raise BackupError("no off-site storage is configured (BACKUP_S3_BUCKET)")
    if not storage.exists(f"{name}/{MANIFEST}"):
        raise BackupError(f"no complete off-site backup named {name} (no {MANIFEST})")
    directory.mkdir(parents=True)
    _, files = storage.listdir(name)
    for file_name in files:
        with storage.open(f"{name}/{file_name}", "rb") as source:
            with (directory / file_name).open("wb") as target:
                for chunk in source.chunks():
                    target.write(chunk)


def retention_keep(
    times: Iterable[datetime.datetime], *, daily: int, weekly: int
) -> set[datetime.datetime]:
    """Which backup times to keep: the newest per day and per ISO week, most recent first."""
    ordered = sorted(set(times), reverse=True)
    keep: set[datetime.datetime] = set(ordered[:1])  # the newest always stays
    for count, period in (
        (daily, lambda t: t.date()),
        (weekly, lambda t: t.isocalendar()[:2]),
    ):
        seen = []
        for moment in ordered:
            key = period(moment)
            if key in seen:
                continue
            if len(seen) == count:
                break
            seen.append(key)
            keep.add(moment)
    return keep


def _retention_plan(names: dict[str, datetime.datetime]) -> list[str]:
    keep = retention_keep(
        names.values(), daily=settings.BACKUP_KEEP_DAILY, weekly=settings.BACKUP_KEEP_WEEKLY
    )
    return sorted(name for name, at in names.items() if at not in keep)


def offsite_prune(*, storage=None) -> list[str]:
    """Apply the retention to the off-site store; return the names deleted."""
    storage = storage or offsite_storage()
    if storage is None:
        return []
    # Incomplete uploads count as backups neither for keeping nor are deleted here:
    # a running upload looks the same.
    backups = {b.name: b.at for b in offsite_list(storage=storage) if b.complete}
    doomed = _retention_plan(backups)
    for name in doomed:
        storage.delete(f"{name}/{MANIFEST}")  # first: a half-deleted backup is incomplete
        _, files = storage.listdir(name)
        for file_name in files:
            storage.delete(f"{name}/{file_name}")
    return doomed


def local_prune(root: Path) -> list[str]:
    """Apply the retention to the scheduled backups kept under BACKUP_DIR."""
    import shutil

    if not root.is_dir():
        return []
    backups = {
        path.name: at
        for path in root.iterdir()
        if path.is_dir() and (at := name_time(path.name)) and (path / MANIFEST).is_file()
    }
    doomed = _retention_plan(backups)
    for name in doomed:
        (root / name / MANIFEST).unlink()
        shutil.rmtree(root / name)
    return doomed
