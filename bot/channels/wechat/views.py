"""The webhook endpoint `/wechat/`: thin, all protocol work is in inbound.py."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from bot.channels.wechat.inbound import Rejection, WebhookResponse, webhook_receive, webhook_verify


def _http(result: WebhookResponse) -> HttpResponse:
    return HttpResponse(result.body, status=result.status, content_type=result.content_type)


def _read_body(request: HttpRequest) -> bytes | None:
    """Read at most the allowed size; None when the body is larger."""
    limit = settings.WECHAT_MAX_BODY_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return None
    body = request.read(limit + 1)
    return None if len(body) > limit else body


@csrf_exempt
@require_http_methods(["GET", "POST"])
def webhook(request: HttpRequest) -> HttpResponse:
    params = {key: request.GET.get(key, "") for key in request.GET}
    if request.method == "GET":
        return _http(webhook_verify(params=params))
    body = _read_body(request)
    if body is None:
        reason = Rejection.BODY_TOO_LARGE
        return HttpResponse(reason.detail, status=reason.status, content_type="text/plain")
    return _http(webhook_receive(params=params, body=body))
