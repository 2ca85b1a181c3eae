"""Logs: personal data masked, one request id from the webhook into its tasks, JSON lines."""

from __future__ import annotations

import io
import json
import logging
import uuid
from contextlib import contextmanager

import pytest
from celery.worker.request import Request

from bot.simulator.envelope import build_delivery, message_fields
from support import logging as support_logging
from support.celery import app
from support.logging import JsonFormatter, MaskingFilter, mask


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("手机 13812345678", "手机 138****5678"),
        ("tel:+8615900001111.", "tel:+" + "*" * 9 + "1111."),
        ("税号 91110108MA01ABCD2X 开票", "税号 " + "*" * 14 + "CD2X 开票"),
        ("old tax id 110108123456789", "old tax id " + "*" * 11 + "6789"),
        ("发票号码12345678查无此票", "发票号码****5678查无此票"),
        ("数电 24117000000212341234", "数电 " + "*" * 16 + "1234"),
        ("code=011002400211 number=12345678", "code=********0211 number=****5678"),
    ],
)
def test_tax_ids_phones_and_invoice_numbers_are_masked(text, masked):
    assert mask(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "openid oAbCdEfGh1234567890xyz_-",
        "request 0cdab11ba81b27f1",
        "2024-06-01 amount 1060.00, ticket T20240601-0042, 3 retries",
        "status 403 in 12 ms",
    ],
)
def test_what_is_not_personal_stays_readable(text):
    assert mask(text) == text


@contextmanager
def console_output():
    """What the configured console handler (LOGGING: filters and formatter) writes."""
    handler = next(
        h
        for h in logging.getLogger().handlers
        if any(isinstance(f, MaskingFilter) for f in h.filters)
    )
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        yield stream
    finally:
        handler.setStream(previous)


def test_the_configured_handler_masks_messages_arguments_and_tracebacks():
    logger = logging.getLogger("tests.masking")
    with console_output() as out:
        logger.warning("follower %s called about %s", "13812345678", "12345678")
        try:
            raise ValueError("invoice 011002400211/12345678 of 91110108MA01ABCD2X")
        except ValueError:
            logger.exception("check failed")
    text = out.getvalue()
    assert "138****5678" in text and "****5678" in text
    assert "13812345678" not in text and "12345678" not in text.replace("****5678", "")
    assert "91110108MA01ABCD2X" not in text and "ValueError" in text


def test_json_lines_carry_the_request_id_and_masked_text():
    record_stream = io.StringIO()
    handler = logging.StreamHandler(record_stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(support_logging.ContextFilter())
    handler.addFilter(MaskingFilter())
    logger = logging.getLogger("tests.json")
    logger.addHandler(handler)
    token = support_logging.request_id.set("rid-json-0001")
    try:
        logger.error("电话 13900001111 发票 12345678")
    finally:
        support_logging.request_id.reset(token)
        logger.removeHandler(handler)
    line = json.loads(record_stream.getvalue().strip())
    assert line["request_id"] == "rid-json-0001"
    assert line["message"] == "电话 139****1111 发票 ****5678"
    assert line["level"] == "ERROR" and line["name"] == "tests.json" and "time" in line


@pytest.mark.django_db
def test_the_webhook_logs_under_the_request_id_it_returns(client):
    fields = message_fields(openid="o-log-1", msg_type="text", Content="你好")
    forged = build_delivery(fields, token="not-the-token")
    with console_output() as out:
        response = client.post(forged.path, forged.body, content_type="text/xml")
    rid = response["X-Request-ID"]
    assert response.status_code == 403 and len(rid) == 16
    line = next(li for li in out.getvalue().splitlines() if "wechat webhook rejected" in li)
    assert f"[{rid}]" in line
    kept = client.get("/healthz", HTTP_X_REQUEST_ID="lb-abcdef-123456")
    assert kept["X-Request-ID"] == "lb-abcdef-123456"  # a proxy's id is kept
    assert client.get("/healthz", HTTP_X_REQUEST_ID="bad id!")["X-Request-ID"] != "bad id!"


seen: list[str] = []


@app.task(name="tests.support.request_id_probe")
def request_id_probe():
    seen.append(support_logging.request_id.get())


def test_the_request_id_travels_in_the_task_headers_to_the_worker(settings):
    """Published through the broker of the run, executed the way a worker executes it."""
    queue = f"h8-probe-{uuid.uuid4().hex[:8]}"
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    seen.clear()
    token = support_logging.request_id.set("rid-from-webhook")
    try:
        request_id_probe.apply_async(queue=queue)
    finally:
        support_logging.request_id.reset(token)
        app.conf.task_always_eager = previous
    assert support_logging.request_id.get() == ""  # the "worker" starts without it
    with app.connection_for_read() as conn:
        simple = conn.SimpleQueue(queue)
        try:
            message = simple.get(timeout=5)
            assert message.headers["request_id"] == "rid-from-webhook"
            Request(message, app=app, task=app.tasks[request_id_probe.name]).execute()
            message.ack()
        finally:
            simple.queue.delete()
            simple.close()
    assert seen == ["rid-from-webhook"]
    assert support_logging.request_id.get() == ""  # and leaves it behind after the task


def test_an_eager_task_keeps_its_callers_id():
    seen.clear()
    token = support_logging.request_id.set("rid-eager")
    try:
        request_id_probe.delay()
    finally:
        support_logging.request_id.reset(token)
    assert seen == ["rid-eager"]
