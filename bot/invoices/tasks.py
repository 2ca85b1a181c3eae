"""Celery tasks of the invoice app: thin, id-based, idempotent."""

from celery import shared_task
from django.utils import timezone

from bot.invoices import selectors, services, watching


@shared_task(acks_late=True)
def invoice_check_push(record_id: int) -> None:
    """Run a queued check and push its answer (nothing happens if it already ran)."""
    services.invoice_check_push_run(record_id=record_id)


@shared_task(acks_late=True)
def invoice_watch_recheck(watch_id: int) -> None:
    """Re-check one watch if it is still active and due."""
    watching.invoice_watch_recheck(watch_id=watch_id)


@shared_task
def invoice_watches_recheck_due() -> int:
    """Beat: queue a re-check for every watch that is due."""
    due = selectors.watches_due(now=timezone.now())
    for watch_id in due:
        invoice_watch_recheck.delay(watch_id)
    return len(due)
