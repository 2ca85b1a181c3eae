"""The manifest of a backup: what it holds, how many rows per table, each file's checksum.

`manifest.json` is written last, so a directory without one is not a backup; it carries
its own checksum, so an edited or truncated manifest is refused like a damaged dump.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

FORMAT = "fapiao-desk-backup/1"
MANIFEST = "manifest.json"
_CHUNK = 1024 * 1024


class BackupError(Exception):
    """A backup cannot be made, or cannot be restored; the message says why in full."""


class BackupDamaged(BackupError):
    """The backup on disk is not the one its manifest describes."""


def file_digest(path: Path) -> tuple[str, int]:
    """sha256 and size of a file, read in chunks."""
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _self_digest(body: dict) -> str:
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass
class Manifest:
    body: dict

    @property
    def tables(self) -> dict[str, int]:
        return self.body["tables"]

    @property
    def database(self) -> dict:
        return self.body["database"]

    @property
    def media(self) -> dict:
        return self.body["media"]

    @property
    def files(self) -> dict[str, dict]:
        return self.body["files"]

    @property
    def created_at(self) -> str:
        return self.body["created_at"]

    @property
    def rows(self) -> int:
        return sum(self.tables.values())

    def write(self, directory: Path) -> Path:
        body = {key: value for key, value in self.body.items() if key != "manifest_sha256"}
        body["manifest_sha256"] = _self_digest(body)
        path = directory / MANIFEST
        path.write_text(json.dumps(body, indent=2, ensure_ascii=False, sort_keys=True) + "\n")
        return path


def manifest_read(directory: Path) -> Manifest:
    """Read and check the manifest of a backup directory (not yet its files)."""
    path = directory / MANIFEST
    if not directory.is_dir():
        raise BackupError(f"{directory} is not a directory: nothing to restore from")
    if not path.is_file():
        raise BackupDamaged(
            f"{directory} has no {MANIFEST}: it is not a complete backup "
            "(an interrupted backup leaves no manifest)"
        )
    try:
        body = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BackupDamaged(f"{path} is not valid JSON ({exc}): the manifest is damaged") from exc
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        found = body.get("format") if isinstance(body, dict) else None
        raise BackupDamaged(f"{path} is not a manifest of format {FORMAT} (found {found!r})")
    claimed = body.pop("manifest_sha256", None)
    if claimed != _self_digest(body):
        raise BackupDamaged(
            f"{path} does not match its own checksum: the manifest was edited or damaged"
        )
    for key in ("tables", "database", "media", "files", "created_at"):
        if key not in body:
            raise BackupDamaged(f"{path} lacks {key!r}")
    return Manifest(body)


def files_verify(directory: Path, manifest: Manifest) -> None:
    """Check every file the manifest lists: present, same size, same sha256."""
    for name, expected in sorted(manifest.files.items()):
        path = directory / name
        if not path.is_file():
            raise BackupDamaged(f"{path} is missing (the manifest lists it)")
        digest, size = file_digest(path)
        if size != expected["bytes"]:
            raise BackupDamaged(
                f"{path} has {size} bytes, the manifest says {expected['bytes']}: "
                "the file is truncated or was changed"
            )
        if digest != expected["sha256"]:
            raise BackupDamaged(
                f"{path} has checksum sha256 {digest[:16]}…, the manifest says "
                f"{expected['sha256'][:16]}…: the file is damaged"
            )
