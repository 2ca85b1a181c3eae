"""Settings for the test suite: the development defaults, whatever the shell exports.

pytest-django imports settings before any conftest runs, so the defaults that
make the suite self-contained (DEBUG, dev token and AES key) are set here.
DATABASE_URL and REDIS_URL still come from the environment: CI runs the suite
once embedded and once against PostgreSQL + Redis.
"""

import os

os.environ.setdefault("DJANGO_DEBUG", "1")

from support.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast test logins
