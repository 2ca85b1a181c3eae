"""Fixtures of the invoice verification tests (helpers live in verify_support.py)."""

import pytest
from django.utils import timezone

from bot.conversations.models import Follower
from tests.bot.invoices.fake_tencent import FakeTencentOcr


@pytest.fixture
def follower():
    return Follower.objects.create(
        openid="o-invoice", subscribed=True, last_interaction_at=timezone.now()
    )


@pytest.fixture
def fake_tencent(settings):
    with FakeTencentOcr() as api:
        settings.INVOICE_TENCENTCLOUD_ENDPOINT = api.url
        settings.TENCENTCLOUD_SECRET_ID = "AKIDfake"
        settings.TENCENTCLOUD_SECRET_KEY = "fake-key"
        settings.INVOICE_VERIFY_TIMEOUT = 2
        yield api
