"""The Django project of 发票助手: settings, root URLs, the Celery app."""

from support.celery import app as celery_app

__all__ = ["celery_app"]
