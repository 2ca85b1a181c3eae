"""Delivery through a real Celery worker process, Redis broker and PostgreSQL."""

import time

import pytest

from bot.wechat.models import Follower, Message
from bot.wechat.outbound import outbound_text_send
from tests.concurrency import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_worker_delivers_after_commit(celery_worker_process, fake_wechat_server, settings):
    settings.WECHAT_APP_SECRET = "test-secret"
    settings.WECHAT_API_BASE_URL = fake_wechat_server.base_url
    follower = Follower.objects.create(openid="o-worker", subscribed=True)
    message = outbound_text_send(follower=follower, text="工单 T20261127-0001 已受理")

    def delivered():
        message.refresh_from_db()
        return message.delivery_status == "sent"

    assert wait_for(delivered), message.delivery_status
    calls = [
        c
        for c in fake_wechat_server.calls("/cgi-bin/message/custom/send")
        if c.body["touser"] == "o-worker"
    ]
    assert len(calls) == 1
    assert calls[0].body["text"]["content"] == "工单 T20261127-0001 已受理"


def test_rolled_back_message_is_never_sent(celery_worker_process, fake_wechat_server):
    from django.db import transaction

    follower = Follower.objects.create(openid="o-rollback", subscribed=True)
    with pytest.raises(RuntimeError), transaction.atomic():
        outbound_text_send(follower=follower, text="不会发出")
        raise RuntimeError("abort")
    time.sleep(1.0)
    assert not Message.objects.filter(follower=follower).exists()
    assert not [
        c
        for c in fake_wechat_server.calls("/cgi-bin/message/custom/send")
        if c.body["touser"] == "o-rollback"
    ]
