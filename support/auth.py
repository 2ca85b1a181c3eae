"""Authentication backends: django-axes' lockout in front of the model backend."""

from axes.backends import AxesStandaloneBackend


class LockoutBackend(AxesStandaloneBackend):
    """Refuse a locked-out username or address before any password is checked.

    Every login form (the admin's) passes the request; a call without one comes from
    code (the test client's `login`, a shell) and has no address to lock, so it is
    left to the next backend instead of failing (docs/security.md).
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
