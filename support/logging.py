"""Structured logs: a request id that follows a message into its tasks, and masked PII.

- `request_id`: a context variable set for each HTTP request (`RequestIdMiddleware`,
  first in the middleware list so the webhook has it too), carried to Celery tasks in
  a message header (`task_headers_add` / `task_context_enter`, connected in
  `support/celery.py`) and put on every log record by `ContextFilter`.
- `MaskingFilter`: tax ids, phone numbers and invoice numbers/codes never reach a log
  line in clear (message, arguments and traceback).
- `JsonFormatter`: one JSON object per line (python-json-logger), for log shippers.

Named in `LOGGING` (support/settings.py); nothing here reads settings at import time.
"""

from __future__ import annotations

import logging
import re
import secrets
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

request_id: ContextVar[str] = ContextVar("request_id", default="")

HEADER = "request_id"  # the Celery message header carrying it
_INCOMING = "HTTP_X_REQUEST_ID"  # a load balancer's id is kept, when it sends a sane one
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")


def request_id_new() -> str:
    return secrets.token_hex(8)


def current_request_id() -> str | None:
    """The request id of this context (`AUDITLOG_CID_GETTER`: audit entries carry it)."""
    return request_id.get() or None


class RequestIdMiddleware:
    """Give every request an id (or keep the proxy's X-Request-ID) and echo it back."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.META.get(_INCOMING, "")
        value = given if _SANE_ID.match(given) else request_id_new()
        token = request_id.set(value)
        try:
            response = self.get_response(request)
        finally:
            request_id.reset(token)
        response["X-Request-ID"] = value
        return response


# --- Celery: the id travels with the task (connected in support/celery.py) ----------


def task_headers_add(headers=None, **kwargs) -> None:
    """`before_task_publish`: put the current request id in the task's headers."""
    current = request_id.get()
    if current and headers is not None and HEADER not in headers:
        headers[HEADER] = current


_task_tokens: dict[str, object] = {}


def task_context_enter(task_id=None, task=None, **kwargs) -> None:
    """`task_prerun`: the task logs under the id of the request that queued it."""
    carried = getattr(task.request, HEADER, None) if task is not None else None
    # An eager task runs inside its caller and already has the caller's id.
    value = carried or request_id.get() or f"task-{(task_id or '')[:16]}"
    _task_tokens[task_id] = request_id.set(value)


def task_context_exit(task_id=None, **kwargs) -> None:
    """`task_postrun`: back to the worker's own (empty) context."""
    token = _task_tokens.pop(task_id, None)
    if token is not None:
        try:
            request_id.reset(token)
        except ValueError:  # set in another context (a thread pool): just clear it
            request_id.set("")


# --- filters and formatter --------------------------------------------------------------

_PHONE = re.compile(r"(?<![0-9])(1[3-9][0-9])[0-9]{4}([0-9]{4})(?![0-9])")
# Tax ids (统一社会信用代码 18, old 15/17/20), invoice numbers (8 digits, 20 for 数电),
# invoice codes (10/12): a standalone run of 8–20 digits or capital letters holding at
# least 6 digits. Lower-case ids (openids, hex request ids) are left alone, and so are
# ids joined by a hyphen (ticket numbers T20240601-0042).
_NUMBERISH = re.compile(r"(?<![0-9A-Za-z-])(?=(?:[A-Z]*[0-9]){6})[0-9A-Z]{8,20}(?![0-9A-Za-z-])")


def _keep_tail(match: re.Match) -> str:
    value = match.group(0)
    return "*" * (len(value) - 4) + value[-4:]


def mask(text: str) -> str:
    """Mask phone numbers (138****5678), tax ids and invoice numbers (all but the last 4)."""
    if not text:
        return text
    text = _PHONE.sub(r"\1****\2", text)
    return _NUMBERISH.sub(_keep_tail, text)


class MaskingFilter(logging.Filter):
    """Mask PII in the final message and in the traceback, before any handler sees it."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what there is, masked
            message = str(record.msg)
        record.msg, record.args = mask(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
            # Formatters (python-json-logger's too) print exc_text when exc_info is gone;
            # left in place, they would format the traceback again, unmasked.
            record.exc_info = None
        if record.stack_info:
            record.stack_info = mask(record.stack_info)
        return True


class ContextFilter(logging.Filter):
    """Put the current request id on the record (`%(request_id)s`, a JSON field)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", ""):
            record.request_id = request_id.get() or "-"
        return True


class JsonFormatter(_JsonFormatter):
    """One JSON object per line: time, level, logger, message, request id, exception."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("fmt", "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s")
        kwargs.setdefault("rename_fields", {"asctime": "time", "levelname": "level"})
        kwargs.setdefault("json_ensure_ascii", False)  # Chinese stays readable
        super().__init__(*args, **kwargs)
