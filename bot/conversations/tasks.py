"""Celery tasks of the conversations app."""

from celery import shared_task

from bot.conversations.buffer import inbound_buffer_drain


@shared_task(ignore_result=True)
def drain_inbound_buffer() -> int:
    """Store the deliveries answered while the database was unreachable (idempotent)."""
    return inbound_buffer_drain()
