"""Operational endpoints of the project."""

from django.http import HttpRequest, JsonResponse

from support.health import health_report


def healthz(request: HttpRequest) -> JsonResponse:
    """Report database, cache and broker; 200 only when all are usable."""
    report = health_report()
    return JsonResponse(report, status=200 if report["ok"] else 503)
