"""The stored media (MEDIA_ROOT) of a backup: one gzipped tar, replaced whole on restore."""

from __future__ import annotations

import os
import shutil
import tarfile
import time
from pathlib import Path

from django.conf import settings

from support.backup.manifest import BackupError

MEDIA_NAME = "media.tar.gz"


def media_archive(directory: Path) -> tuple[str, int]:
    """Archive MEDIA_ROOT into the directory; return the file's name and the file count."""
    root = Path(settings.MEDIA_ROOT)
    count = 0
    with tarfile.open(directory / MEDIA_NAME, "w:gz") as archive:
        if root.is_dir():
            for path in sorted(root.rglob("*")):
                if path.is_file() and not path.is_symlink():
                    archive.add(path, arcname=path.relative_to(root).as_posix(), recursive=False)
                    count += 1
    return MEDIA_NAME, count


def media_restore(archive_path: Path, *, expected_files: int) -> int:
    """Replace MEDIA_ROOT with the archive's files (extracted aside, then swapped in)."""
    root = Path(settings.MEDIA_ROOT)
    root.parent.mkdir(parents=True, exist_ok=True)
    stamp = f"{int(time.time())}-{os.getpid()}"
    incoming = root.with_name(f"{root.name}.restoring-{stamp}")
    outgoing = root.with_name(f"{root.name}.replaced-{stamp}")
    incoming.mkdir()
    try:
        with tarfile.open(archive_path, "r:gz") as archive:
            archive.extractall(incoming, filter="data")  # no absolute paths, links or devices
        count = sum(1 for path in incoming.rglob("*") if path.is_file())
        if count != expected_files:
            raise BackupError(
                f"{archive_path} holds {count} files, the manifest says {expected_files}"
            )
        if root.exists():
            root.rename(outgoing)
        incoming.rename(root)
    except BaseException:
        shutil.rmtree(incoming, ignore_errors=True)
        raise
    shutil.rmtree(outgoing, ignore_errors=True)
    return count
