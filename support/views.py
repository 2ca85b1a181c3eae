"""Operational endpoints of the project."""

from django.http import HttpRequest, HttpResponsePermanentRedirect, JsonResponse
from django.templatetags.static import static

from support.health import health_report


def healthz(request: HttpRequest) -> JsonResponse:
    """Report database, cache and broker; 200 only when all are usable."""
    report = health_report()
    return JsonResponse(report, status=200 if report["ok"] else 503)


def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    """Browsers ask for /favicon.ico whatever a page links; the pages link the SVG."""
    return HttpResponsePermanentRedirect(static("support/favicon.svg"))
