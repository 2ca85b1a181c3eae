"""WSGI entry point: `gunicorn support.wsgi`."""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "support.settings")
application = get_wsgi_application()

# Everything loaded so far (Django, jieba's dictionary loaded by the NLU app's ready(),
# about 340,000 objects) lives as long as the process. Frozen, the garbage collector
# stops walking it on every full collection: measured 0.07 → 0.02 ms per webhook message.
gc.freeze()
