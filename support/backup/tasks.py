"""The nightly backup (Celery beat: `backup-nightly` in support/settings.py)."""

import logging

from celery import shared_task
from django.core.cache import cache

from support.backup.services import backup_scheduled

logger = logging.getLogger(__name__)

_LOCK = "backup:nightly:lock"


@shared_task(acks_late=False, ignore_result=True)
def backup_nightly() -> dict | None:
    """Back up, copy off-site, apply the retention; one at a time in the installation."""
    # acks_late off: a backup redelivered after a worker loss would run twice at once.
    if not cache.add(_LOCK, "1", timeout=6 * 3600):
        logger.warning("backup: the previous nightly backup is still running; skipped")
        return None
    try:
        report = backup_scheduled()
    finally:
        cache.delete(_LOCK)
    logger.info(
        "backup: %s (%s rows, %.1f s), off-site %s, pruned %s local / %s off-site",
        report["directory"],
        report["rows"],
        report["seconds"],
        report["offsite"] or "not configured",
        len(report["pruned_local"]),
        len(report["pruned_offsite"]),
    )
    return report
