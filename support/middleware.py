"""Request hygiene before any view: inputs no view can use are refused with a 400."""

from django.http import HttpRequest, HttpResponse, JsonResponse

from support.api import error_body


class RejectNulMiddleware:
    """Answer 400 to a query string carrying a NUL byte (raw or %00).

    PostgreSQL cannot store or compare text containing NUL, so such a parameter
    reaching a filter is a 500 (`ValueError: A string literal cannot contain NUL`).
    No legitimate client sends one.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        raw = request.META.get("QUERY_STRING", "")
        if "\x00" in raw or "%00" in raw or any("\x00" in v for v in _values(request)):
            return JsonResponse(
                error_body(code="invalid", message="请求参数含有非法字符（NUL）"), status=400
            )
        return self.get_response(request)


def _values(request: HttpRequest):
    for key, values in request.GET.lists():
        yield key
        yield from values
