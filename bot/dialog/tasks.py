"""Celery tasks of the dialog: thin, id-based, idempotent."""

from celery import shared_task

from bot.dialog.hooks import invoices


@shared_task(acks_late=True)
def photo_retry(message_id: int) -> str:
    """Fetch and read a photo the webhook could not fetch in time; push the outcome."""
    return invoices.photo_retry_run(message_id=message_id)
