import uuid

import pytest

from bot.nlu.kbindex import KbIndex
from bot.nlu.seed import seed_snapshot


@pytest.fixture(scope="session")
def seed_index() -> KbIndex:
    """The seed KB compiled without a database, for pure matcher tests."""
    return KbIndex.build(seed_snapshot(), version="seed")


@pytest.fixture
def conversation() -> str:
    """A fresh conversation key (an openid) for each test."""
    return f"o-test-{uuid.uuid4().hex}"
