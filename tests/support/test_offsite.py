"""Off-site copies in an S3-compatible store (moto in server mode on 127.0.0.1), retention,
and the nightly beat task."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from django.core.management import CommandError, call_command
from moto.server import ThreadedMotoServer

from support.backup import offsite
from support.backup.manifest import MANIFEST, file_digest
from support.backup.offsite import retention_keep
from support.backup.tasks import backup_nightly
from tests.support.backup_support import ROOT

BUCKET = "fapiao-backups-test"
UTC = datetime.UTC


@pytest.fixture(scope="module")
def moto_server():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(moto_server, settings):
    client = boto3.client(
        "s3",
        endpoint_url=moto_server,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=BUCKET)
    settings.STORAGES = {
        **settings.STORAGES,
        "backups": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "location": "fapiao-desk",
                "endpoint_url": moto_server,
                "region_name": "us-east-1",
                "access_key": "testing",
                "secret_key": "testing",
                "file_overwrite": False,
                "default_acl": "private",
            },
        },
    }
    yield client
    objects = client.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    for item in objects:
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def _keys(client) -> list[str]:
    return sorted(o["Key"] for o in client.list_objects_v2(Bucket=BUCKET).get("Contents", []))


@pytest.fixture
def media_root(settings, tmp_path):
    root = tmp_path / "media"
    (root / "photos").mkdir(parents=True)
    (root / "photos" / "a.jpg").write_bytes(b"\xff\xd8photo")
    settings.MEDIA_ROOT = str(root)
    return root


backup_db = pytest.mark.django_db(transaction=True)


@backup_db
def test_a_backup_is_copied_off_site_and_fetched_back_intact(s3, tmp_path, media_root, capsys):
    local = tmp_path / "local"
    call_command("backup", "--output", str(local))
    out = capsys.readouterr().out
    name = offsite.offsite_list()[0].name
    assert f"off-site: {name}" in out
    files = sorted(p.name for p in local.iterdir())
    assert _keys(s3) == [f"fapiao-desk/{name}/{f}" for f in files]
    call_command("backup", "--list-offsite")
    assert name in capsys.readouterr().out

    fetched = tmp_path / "fetched"
    call_command("backup", "--fetch", name, "--output", str(fetched))
    assert "complete and undamaged" in capsys.readouterr().out
    for file_name in files:
        assert file_digest(fetched / file_name) == file_digest(local / file_name)


@backup_db
def test_a_damaged_off_site_copy_is_refused_when_fetched(s3, tmp_path, media_root):
    local = tmp_path / "local"
    call_command("backup", "--output", str(local))
    name = offsite.offsite_list()[0].name
    dump = json.loads((local / MANIFEST).read_text())["database"]["file"]
    s3.put_object(Bucket=BUCKET, Key=f"fapiao-desk/{name}/{dump}", Body=b"bit rot")
    with pytest.raises(CommandError, match="has 7 bytes, the manifest says"):
        call_command("backup", "--fetch", name, "--output", str(tmp_path / "fetched"))


def test_retention_keeps_the_newest_per_day_for_7_days_and_per_week_for_4_weeks():
    newest = datetime.datetime(2025, 3, 31, 3, 30, tzinfo=UTC)  # a Monday
    times = [newest - datetime.timedelta(days=d) for d in range(60)]
    times.append(newest - datetime.timedelta(hours=2))  # a second backup on the newest day
    keep = retention_keep(times, daily=7, weekly=4)
    days = {t.date() for t in keep}
    assert {newest.date() - datetime.timedelta(days=d) for d in range(7)} <= days
    assert newest - datetime.timedelta(hours=2) not in keep  # one per day: the newest
    weeks = sorted({t.isocalendar()[:2] for t in keep}, reverse=True)
    assert len(weeks) == 4  # the 7 days span two weeks; two more weekly ones
    for week in weeks:
        newest_of_week = max(t for t in times if t.isocalendar()[:2] == week)
        assert newest_of_week in keep
    assert len(keep) == 7 + 2
    assert retention_keep([], daily=7, weekly=4) == set()
    assert retention_keep(times[:1], daily=0, weekly=0) == set(times[:1])  # never none


def _fake_offsite(client, moments: list[datetime.datetime], *, complete: bool = True) -> list:
    names = []
    for moment in moments:
        name = f"fapiao-{moment:%Y%m%dT%H%M%SZ}"
        client.put_object(Bucket=BUCKET, Key=f"fapiao-desk/{name}/database.sqlite3", Body=b"x")
        if complete:
            client.put_object(Bucket=BUCKET, Key=f"fapiao-desk/{name}/{MANIFEST}", Body=b"{}")
        names.append(name)
    return names


def test_prune_deletes_what_the_retention_does_not_keep(s3, settings):
    settings.BACKUP_KEEP_DAILY, settings.BACKUP_KEEP_WEEKLY = 7, 4
    newest = datetime.datetime(2025, 3, 31, 3, 30, tzinfo=UTC)
    moments = [newest - datetime.timedelta(days=d) for d in range(40)]
    names = _fake_offsite(s3, moments)
    running = _fake_offsite(s3, [newest - datetime.timedelta(days=90)], complete=False)
    call_command("backup", "--prune")
    kept = {b.name for b in offsite.offsite_list()}
    expected = {
        n
        for n, m in zip(names, moments, strict=True)
        if m in retention_keep(moments, daily=7, weekly=4)
    }
    assert kept == expected | set(running)  # an upload without a manifest is left alone
    assert len(expected) == 9


@backup_db
def test_the_nightly_task_backs_up_copies_off_site_and_prunes_both(
    s3, settings, tmp_path, media_root
):
    settings.BACKUP_DIR = str(tmp_path / "nightly")
    settings.BACKUP_KEEP_DAILY, settings.BACKUP_KEEP_WEEKLY = 2, 1
    old = [datetime.datetime(2020, 1, d, 3, 30, tzinfo=UTC) for d in (1, 2, 3)]
    old_names = _fake_offsite(s3, old)
    for name in old_names:  # and the same old backups kept locally
        folder = Path(settings.BACKUP_DIR) / name
        folder.mkdir(parents=True)
        (folder / MANIFEST).write_text("{}")
    report = backup_nightly.delay().get()
    assert report["offsite"].startswith("fapiao-")
    assert Path(report["directory"], MANIFEST).is_file()
    # Keep 2 days, 1 week: the new backup and the newest old one stay.
    assert sorted(report["pruned_offsite"]) == old_names[:2]
    assert sorted(report["pruned_local"]) == old_names[:2]
    assert {b.name for b in offsite.offsite_list()} == {report["offsite"], old_names[2]}
    assert sorted(p.name for p in Path(settings.BACKUP_DIR).iterdir()) == sorted(
        [Path(report["directory"]).name, old_names[2]]
    )


def _beat(**env) -> list[str]:
    code = (
        "import django, os;"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'support.settings_test');"
        "django.setup(); from django.conf import settings;"
        "print(sorted(settings.CELERY_BEAT_SCHEDULE))"
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith("BACKUP_")}
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def test_the_nightly_backup_is_scheduled_with_off_site_backups_or_when_asked():
    assert "backup-nightly" not in _beat()
    assert "backup-nightly" in _beat(BACKUP_S3_BUCKET="b")
    assert "backup-nightly" in _beat(BACKUP_NIGHTLY="1")
    assert "backup-nightly" not in _beat(BACKUP_S3_BUCKET="b", BACKUP_NIGHTLY="0")
