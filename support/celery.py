"""The Celery app: `celery -A support worker` and `celery -A support beat`."""

import os

from celery import Celery
from celery.signals import before_task_publish, task_postrun, task_prerun

from support.logging import task_context_enter, task_context_exit, task_headers_add

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "support.settings")

app = Celery("support")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# A task logs under the request id of the request that queued it (support/logging.py).
before_task_publish.connect(task_headers_add, weak=False)
task_prerun.connect(task_context_enter, weak=False)
task_postrun.connect(task_context_exit, weak=False)
