"""Celery tasks of the reports: thin, idempotent (a rebuild writes the same rows)."""

from celery import shared_task

from bot.reports import alarms, services


@shared_task(acks_late=True)
def reports_refresh_task() -> dict:
    """Beat: ticket rows changed since the last run, then the days due (newest first)."""
    return services.reports_refresh()


@shared_task(acks_late=True)
def reports_day_build_task(day: str) -> None:
    from datetime import date

    services.reports_day_build(day=date.fromisoformat(day))


@shared_task
def reports_alarms_check() -> None:
    """Beat: measure every alarm; an episode opening queues its alert."""
    alarms.alarms_check()


@shared_task(acks_late=True)
def reports_alarm_notify(episode_id: int) -> None:
    """Tell the on-duty supervisors of an alarm episode (the notice keys make it once)."""
    alarms.alarm_notify(episode_id=episode_id)
