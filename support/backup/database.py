"""The database part of a backup, through django-dbbackup's connectors.

- PostgreSQL: `pg_dump --format=custom` / `pg_restore --single-transaction --clean`
  (dbbackup's `PgDumpBinaryConnector`). The rows are counted in an exported snapshot
  and `pg_dump --snapshot` dumps that same snapshot, so the manifest's counts are the
  dump's counts even while the site keeps writing.
- SQLite: SQLite's online backup API (dbbackup's `SqliteBackupConnector`); the restore
  uses the same API into the open connection, page by page, instead of overwriting the
  file under it. The counts are read from the copy itself.

`DBBACKUP_CONNECTOR_MAPPING` (support/settings.py) names the two classes below, so
dbbackup's own commands use them too.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import tempfile
from pathlib import Path

from dbbackup.db.base import get_connector
from dbbackup.db.exceptions import CommandConnectorError
from dbbackup.db.postgresql import PgDumpBinaryConnector
from dbbackup.db.sqlite import SqliteBackupConnector
from django.db import connections

from support.backup.manifest import BackupError

DUMP_NAMES = {"postgresql": "database.pgdump", "sqlite": "database.sqlite3"}


class PostgresConnector(PgDumpBinaryConnector):
    """pg_dump/pg_restore; objects get the restoring user as owner, grants are left out."""

    pg_options = ["--no-owner", "--no-privileges", "--exit-on-error"]
    # A restore waits at most this long for a lock (a web or worker process still
    # connected), then fails with a clear error instead of hanging.
    restore_env = {"PGOPTIONS": "-c lock_timeout=30000"}


class SqliteConnector(SqliteBackupConnector):
    """The backup API both ways: safe while the file is in use."""

    def restore_dump(self, dump):
        with tempfile.NamedTemporaryFile(suffix=".sqlite3", delete=False) as copy:
            shutil.copyfileobj(dump, copy)
        try:
            source = sqlite3.connect(copy.name)
            try:
                self.connection.ensure_connection()
                source.backup(self.connection.connection)
            finally:
                source.close()
        finally:
            Path(copy.name).unlink(missing_ok=True)


def _dbbackup_quiet() -> None:
    # dbbackup sets its command logger to DEBUG when imported: every pg_dump command line
    # would reach the operator's terminal and the logs.
    logging.getLogger("dbbackup.command").setLevel(logging.INFO)


def vendor(alias: str = "default") -> str:
    name = connections[alias].vendor
    if name not in DUMP_NAMES:
        raise BackupError(f"backups support PostgreSQL and SQLite, not {name}")
    return name


def _quote(connection, table: str) -> str:
    return connection.ops.quote_name(table)


def _tables(connection, cursor) -> list[str]:
    return sorted(connection.introspection.table_names(cursor))


def _count(connection, cursor, tables: list[str]) -> dict[str, int]:
    counts = {}
    for table in tables:
        cursor.execute(f"SELECT COUNT(*) FROM {_quote(connection, table)}")  # noqa: S608
        counts[table] = cursor.fetchone()[0]
    return counts


def table_counts(alias: str = "default") -> dict[str, int]:
    """Rows of every table of the configured database, now."""
    connection = connections[alias]
    with connection.cursor() as cursor:
        return _count(connection, cursor, _tables(connection, cursor))


def _write(stream, path: Path) -> None:
    stream.seek(0)
    with path.open("wb") as out:
        shutil.copyfileobj(stream, out, 1024 * 1024)
    stream.close()


def _postgres_dump(alias: str, path: Path) -> dict[str, int]:
    # A connection of its own: a REPEATABLE READ transaction that exports its snapshot
    # and stays open until pg_dump has dumped exactly what was counted.
    snapshot_conn = connections.create_connection(alias)
    try:
        snapshot_conn.ensure_connection()
        snapshot_conn.set_autocommit(False)
        with snapshot_conn.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            counts = _count(snapshot_conn, cursor, _tables(snapshot_conn, cursor))
            connector = get_connector(alias)
            connector.dump_suffix = f"--snapshot={snapshot}"
            try:
                _write(connector.create_dump(), path)
            except CommandConnectorError as exc:
                raise BackupError(f"pg_dump failed: {exc}") from exc
        snapshot_conn.rollback()
    finally:
        snapshot_conn.close()
    return counts


def _sqlite_dump(alias: str, path: Path) -> dict[str, int]:
    _write(get_connector(alias).create_dump(), path)
    copy = sqlite3.connect(path)
    try:
        names = [
            row[0]
            for row in copy.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {
            name: copy.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0]  # noqa: S608
            for name in sorted(names)
        }
    finally:
        copy.close()


def database_dump(directory: Path, alias: str = "default") -> tuple[str, dict[str, int]]:
    """Dump the database into the directory; return the file's name and the row counts."""
    _dbbackup_quiet()
    kind = vendor(alias)
    name = DUMP_NAMES[kind]
    dump = _postgres_dump if kind == "postgresql" else _sqlite_dump
    return name, dump(alias, directory / name)


def _leftover_tables_drop(alias: str, keep: set[str]) -> list[str]:
    """Drop tables the backup does not have (a newer schema's), so the restore replaces all."""
    connection = connections[alias]
    with connection.cursor() as cursor:
        extra = [table for table in _tables(connection, cursor) if table not in keep]
        for table in extra:
            cascade = " CASCADE" if connection.vendor == "postgresql" else ""
            cursor.execute(f"DROP TABLE IF EXISTS {_quote(connection, table)}{cascade}")
    return extra


def database_restore(path: Path, *, tables: set[str], alias: str = "default") -> list[str]:
    """Replace the configured database's contents with the dump; return tables dropped."""
    _dbbackup_quiet()
    kind = vendor(alias)
    connection = connections[alias]
    if connection.in_atomic_block:
        raise BackupError("a restore cannot run inside a transaction")
    dropped = _leftover_tables_drop(alias, tables) if kind == "postgresql" else []
    connector = get_connector(alias)
    if kind == "postgresql":
        # pg_restore takes its own connection: ours must hold no lock on the tables.
        connections[alias].close()
    try:
        with path.open("rb") as dump:
            connector.restore_dump(dump)
    except CommandConnectorError as exc:
        # One transaction: nothing of the dump was applied.
        before = (
            f" (tables not in the backup were dropped: {', '.join(dropped)})" if dropped else ""
        )
        raise BackupError(f"pg_restore failed; the database is as it was{before}: {exc}") from exc
    except sqlite3.Error as exc:
        raise BackupError(f"the SQLite restore failed: {exc}") from exc
    if kind == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # pg_restore brings no planner statistics
    return dropped
