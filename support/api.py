"""The one API error format: {"error": {"code": ..., "message": ..., "fields": {...}}}."""

from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    code = getattr(exc, "default_code", "error")
    if isinstance(data, dict) and set(data) == {"detail"}:
        body = {"code": getattr(data["detail"], "code", code), "message": str(data["detail"])}
    else:
        body = {"code": "invalid", "message": "输入有误", "fields": data}
    response.data = {"error": body}
    return response
