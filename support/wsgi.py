"""WSGI entry point: `gunicorn support.wsgi`."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "support.settings")
application = get_wsgi_application()
