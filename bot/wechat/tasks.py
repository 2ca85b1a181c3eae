"""Celery tasks of the WeChat channel: thin, id-based, idempotent."""

from celery import shared_task

from bot.wechat.outbound import DeliveryRetry, message_deliver


@shared_task(bind=True, max_retries=None, acks_late=True)
def deliver_message(self, message_id: int) -> None:
    """Deliver one outbound message; retries transient WeChat failures with backoff."""
    try:
        message_deliver(message_id=message_id, attempt=self.request.retries + 1)
    except DeliveryRetry as retry:
        raise self.retry(countdown=retry.countdown) from retry
