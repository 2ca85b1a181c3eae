"""Backups and restores: `manage.py backup` / `manage.py restore` and the nightly task.

A backup is one directory: the database dump (django-dbbackup's connectors: pg_dump on
PostgreSQL, SQLite's backup API on the embedded default), the stored media as a tar,
and `manifest.json` (row counts per table, each file's sha256, its own checksum).
Off-site, the same directory goes to an S3-compatible store (django-storages), pruned
by a retention policy (offsite.py). docs/operations.md has the restore drill.
"""
