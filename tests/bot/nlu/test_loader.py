"""The per-process KB index and the shared version key."""

import pytest
from django.core.cache import cache

from bot.nlu.loader import VERSION_KEY, current_index, forget_index, set_kb_version
from bot.nlu.matcher import classify
from bot.nlu.models import Keyword

pytestmark = pytest.mark.django_db


def test_index_is_built_once_and_reused(django_assert_num_queries):
    first = current_index()
    # A cached index costs one cache read and no database query.
    with django_assert_num_queries(0):
        assert current_index() is first


def test_another_process_edit_is_picked_up_through_the_version_key():
    """Simulate another process: the database changes behind our back, then it bumps."""
    text = "我的发票被税务局锁定了"
    stale = current_index()
    assert classify(text).intent != "void_red_status"
    # The other process writes the row (no bump from this process) ...
    Keyword.objects.create(word="锁定", weight=2.0, intent_id="void_red_status")
    # ... and until it publishes, this process keeps its compiled index.
    assert current_index() is stale
    assert classify(text).intent != "void_red_status"
    # Publishing is a new version in the shared cache.
    set_kb_version("edited-elsewhere")
    fresh = current_index()
    assert fresh is not stale and fresh.version == "edited-elsewhere"
    assert classify(text).intent == "void_red_status"


def test_a_lost_cache_makes_a_new_version_and_a_rebuild():
    stale = current_index()
    cache.clear()
    fresh = current_index()
    assert fresh is not stale
    assert cache.get(VERSION_KEY) == fresh.version


def test_forget_index_rebuilds_from_the_database():
    first = current_index()
    forget_index()
    second = current_index()
    assert second is not first and second.version == first.version
    assert len(second.entries) == len(first.entries) > 20


def test_a_rebuild_reads_the_kb_in_six_queries(django_assert_num_queries):
    current_index()
    set_kb_version("after-an-edit")
    with django_assert_num_queries(6):
        current_index()
