"""Celery tasks of notices: thin, id-based, idempotent (a repeat finds nothing to claim)."""

from celery import shared_task

from bot.notices import broadcasts, incidents, services


@shared_task(bind=True, max_retries=None, acks_late=True)
def deliver_notices(self, notice_ids: list[int]) -> None:
    """Deliver these notices; transient failures retry with backoff (attempts on the rows)."""
    outcome = services.notices_deliver(notice_ids=notice_ids)
    for broadcast_id in outcome.broadcast_ids:
        broadcasts.broadcast_finish_if_done(broadcast_id=broadcast_id)
    if outcome.retry_ids:
        raise self.retry(args=[outcome.retry_ids], countdown=outcome.countdown)


@shared_task(acks_late=True)
def expand_broadcast(broadcast_id: int) -> None:
    broadcasts.broadcast_expand_step(broadcast_id=broadcast_id)


@shared_task(acks_late=True)
def mass_send_broadcast(broadcast_id: int) -> None:
    broadcasts.broadcast_mass_send(broadcast_id=broadcast_id)


@shared_task
def recover_notices() -> None:
    """Beat: pick up notices and broadcasts a lost worker left behind."""
    services.notices_recover()
    broadcasts.broadcasts_recover()


@shared_task
def start_due_broadcasts() -> None:
    """Beat: start scheduled broadcasts whose time has come."""
    broadcasts.broadcasts_start_due()


@shared_task
def detect_incidents() -> None:
    """Beat: propose incidents from unusual failure or outage-question rates."""
    incidents.incidents_detect()
