"""The restore drill and its safeguards: backup, damage, refusal, restore, compare.

A database is filled through /wechat/ and /api/, backed up with `manage.py backup`,
restored with `manage.py restore` into a fresh database in a process of its own (as an
operator would), and compared row for row through Django's serializer. It runs on the
database of the run: SQLite embedded, PostgreSQL in CI's second run.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from bot.conversations.models import Message
from support.backup.database import table_counts
from support.backup.manifest import MANIFEST, Manifest
from tests.support.backup_support import (
    dumpdata_here,
    dumpdata_there,
    fill_through_the_urls,
    fresh_database,
    manage,
    media_fill,
    target_sql,
)

# Committed rows: pg_dump reads the database from a process of its own.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def media_root(settings, tmp_path):
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = str(root)
    return root


@pytest.fixture
def filled(wechat, client, media_root):
    fill_through_the_urls(wechat, client)
    return media_fill(media_root)


def _backup(tmp_path: Path, name: str = "backup") -> Path:
    output = tmp_path / name
    call_command("backup", "--output", str(output), "--no-offsite", verbosity=0)
    return output


def _manifest(directory: Path) -> dict:
    return json.loads((directory / MANIFEST).read_text())


def test_drill_backup_then_restore_into_a_fresh_database_and_over_a_used_one(
    filled, tmp_path, media_root
):
    before = dumpdata_here()
    counts = table_counts()
    assert counts["wechat_message"] >= 12 and counts["tickets_ticket"] == 1
    backup = _backup(tmp_path)
    manifest = _manifest(backup)
    assert manifest["tables"] == counts  # the manifest counts what the dump holds
    assert manifest["database"]["vendor"] == connection.vendor
    assert manifest["media"]["files"] == len(filled)

    restored_media = tmp_path / "restored-media"
    with fresh_database(tmp_path) as url:
        done = manage(
            "restore", str(backup), "--noinput", database_url=url, media_root=restored_media
        )
        assert done.returncode == 0, done.stderr
        assert "row counts match the manifest" in done.stdout
        assert dumpdata_there(url, restored_media, tmp_path) == before
        for name, content in filled.items():
            assert (restored_media / name).read_bytes() == content
        sample = target_sql(url, "SELECT id, text FROM wechat_message ORDER BY id")
        assert sample == list(Message.objects.order_by("id").values_list("id", "text"))

        # The same drill over a database in use: other rows, an extra table, stray media.
        target_sql(url, "UPDATE wechat_message SET text = 'changed'")
        target_sql(url, "DELETE FROM authtoken_token")
        target_sql(url, "UPDATE nlu_faqentry SET answer = 'changed'")
        target_sql(url, "CREATE TABLE leftover_from_a_newer_schema (id integer)")
        (restored_media / "stray.txt").write_text("not in the backup")
        done = manage(
            "restore", str(backup), "--noinput", database_url=url, media_root=restored_media
        )
        assert done.returncode == 0, done.stderr
        assert dumpdata_there(url, restored_media, tmp_path) == before
        assert not (restored_media / "stray.txt").exists()
        tables = (
            "SELECT name FROM sqlite_master WHERE type = 'table'"
            if url.startswith("sqlite")
            else "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        )
        assert ("leftover_from_a_newer_schema",) not in target_sql(url, tables)


def test_backup_refuses_a_used_directory_and_leaves_no_partial(filled, tmp_path):
    used = tmp_path / "used"
    used.mkdir()
    (used / "notes.txt").write_text("x")
    with pytest.raises(CommandError, match="already exists and is not empty"):
        call_command("backup", "--output", str(used), "--no-offsite")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("used")) == ["used"]


def _restore(directory: Path):
    call_command("restore", str(directory), "--noinput", verbosity=0)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("flip a byte of the dump", r"database\.\w+ has checksum .* the file is damaged"),
        ("truncate the media archive", r"media\.tar\.gz has \d+ bytes, the manifest says"),
        ("delete the dump", r"database\.\w+ is missing"),
        ("edit the manifest", r"does not match its own checksum"),
        ("delete the manifest", r"has no manifest\.json: it is not a complete backup"),
        ("break the manifest", r"is not valid JSON"),
    ],
)
def test_a_damaged_backup_is_refused_with_a_clear_error_and_nothing_changes(
    filled, tmp_path, damage, message
):
    backup = _backup(tmp_path)
    dump = backup / _manifest(backup)["database"]["file"]
    if damage == "flip a byte of the dump":
        data = bytearray(dump.read_bytes())
        data[len(data) // 2] ^= 0xFF
        dump.write_bytes(bytes(data))
    elif damage == "truncate the media archive":
        media = backup / "media.tar.gz"
        media.write_bytes(media.read_bytes()[:-10])
    elif damage == "delete the dump":
        dump.unlink()
    elif damage == "edit the manifest":
        body = _manifest(backup)
        body["tables"]["wechat_message"] += 1
        (backup / MANIFEST).write_text(json.dumps(body))
    elif damage == "delete the manifest":
        (backup / MANIFEST).unlink()
    else:
        (backup / MANIFEST).write_text('{"format": ')
    Message.objects.all().delete()
    with pytest.raises(CommandError, match=f"restore refused: .*{message}"):
        _restore(backup)
    assert Message.objects.count() == 0  # refused before anything was touched


def test_backup_verify_reports_a_good_backup_and_refuses_a_damaged_one(filled, tmp_path, capsys):
    backup = _backup(tmp_path)
    call_command("backup", "--verify", str(backup))
    assert "complete and undamaged" in capsys.readouterr().out
    (backup / "media.tar.gz").write_bytes(b"garbage")
    with pytest.raises(CommandError, match=r"media\.tar\.gz has 7 bytes"):
        call_command("backup", "--verify", str(backup))


def test_a_backup_of_the_other_database_kind_is_refused(filled, tmp_path):
    backup = _backup(tmp_path)
    body = _manifest(backup)
    body["database"]["vendor"] = "postgresql" if connection.vendor == "sqlite" else "sqlite"
    Manifest(body).write(backup)  # a consistent manifest, only of the other kind
    with pytest.raises(CommandError, match="backup and the configured database is"):
        _restore(backup)


def test_restore_asks_first_and_a_no_changes_nothing(filled, tmp_path, monkeypatch, capsys):
    backup = _backup(tmp_path)
    Message.objects.all().delete()

    class Terminal:
        @staticmethod
        def isatty():
            return True

    monkeypatch.setattr("sys.stdin", Terminal())
    asked = []
    monkeypatch.setattr("builtins.input", lambda prompt: asked.append(prompt) or "no")
    with pytest.raises(CommandError, match="restore cancelled: nothing was changed"):
        call_command("restore", str(backup))
    assert asked and '"yes"' in asked[0]
    out = capsys.readouterr().out
    assert "checksums verified" in out and "will be REPLACED" in out
    assert Message.objects.count() == 0


def test_restore_without_a_terminal_needs_noinput(filled, tmp_path):
    backup = _backup(tmp_path)
    with pytest.raises(CommandError, match="pass --noinput"):
        call_command("restore", str(backup))  # pytest's stdin is no terminal


def test_restore_in_process_replaces_the_rows_and_checks_the_counts(filled, tmp_path, media_root):
    backup = _backup(tmp_path)
    expected = _manifest(backup)["tables"]
    Message.objects.filter(pk=Message.objects.order_by("pk").first().pk).delete()
    shutil.rmtree(media_root)
    _restore(backup)
    assert table_counts() == expected
    assert (media_root / "imports" / "ledger.csv").is_file()
