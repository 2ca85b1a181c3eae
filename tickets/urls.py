"""API routes of this app, mounted under /api/ by support/urls.py."""

urlpatterns: list = []
