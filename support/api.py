"""The one API error format: {"error": {"code": ..., "message": ..., "fields": {...}}}."""

from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from support.errors import DomainError


def error_body(*, code: str, message: str, fields: dict | None = None) -> dict:
    """The error format's body; `fields` only when some input is at fault."""
    body = {"code": code, "message": message}
    if fields is not None:
        body["fields"] = fields
    return {"error": body}


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        # A refusal, like DRF's own errors: nothing the view wrote is kept.
        set_rollback()
        fields = {exc.field: [exc.message]} if exc.field else None
        return Response(
            error_body(code=str(exc.code), message=exc.message, fields=fields), status=exc.status
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    code = getattr(exc, "default_code", "error")
    if isinstance(data, dict) and set(data) == {"detail"}:
        body = error_body(code=getattr(data["detail"], "code", code), message=str(data["detail"]))
    else:
        body = error_body(code="invalid", message="输入有误", fields=data)
    response.data = body
    return response
