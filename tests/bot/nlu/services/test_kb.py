"""KB writes republish the KB: the next message in any process uses the edit."""

import pytest

from bot.nlu.loader import VERSION_KEY, current_index, kb_version
from bot.nlu.matcher import classify
from bot.nlu.models import FaqEntry, Keyword, SynonymGroup
from bot.nlu.services import (
    faq_entry_update,
    kb_object_delete,
    kb_object_save,
    kb_objects_delete,
    keyword_create,
    keyword_update,
    nlu_reply,
)

pytestmark = pytest.mark.django_db

TEXT = "我的发票被税务局锁定了"


def test_keyword_create_changes_the_next_classification(django_capture_on_commit_callbacks):
    before = classify(TEXT)
    assert before.intent != "void_red_status"
    with django_capture_on_commit_callbacks(execute=True):
        keyword_create(word="锁定", weight=2.0, intent_id="void_red_status")
    after = classify(TEXT)
    assert (after.intent, after.action) == ("void_red_status", "answer")
    assert "锁定" in after.matched_keywords


def test_keyword_update_and_delete(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        kw = keyword_create(word="锁定", weight=2.0, intent_id="void_red_status")
    assert classify(TEXT).intent == "void_red_status"
    with django_capture_on_commit_callbacks(execute=True):
        keyword_update(keyword=kw, intent_id="check_limit", weight=2.5)
    assert classify(TEXT).intent == "check_limit"
    with django_capture_on_commit_callbacks(execute=True):
        kb_object_delete(obj=kw)
    assert "锁定" not in classify(TEXT).matched_keywords


def test_invalid_keyword_is_rejected_and_publishes_nothing():
    version = kb_version()
    with pytest.raises(Exception, match="正则"):
        keyword_create(word="re:([", intent_id="oos")
    assert kb_version() == version
    assert not Keyword.objects.filter(word="re:([").exists()


def test_faq_entry_update_changes_the_answer(conversation, django_capture_on_commit_callbacks):
    entry = FaqEntry.objects.get(key="check_limit")
    with django_capture_on_commit_callbacks(execute=True):
        faq_entry_update(entry=entry, answer="新的答案：明天再查，我可以帮您复查。")
    r = nlu_reply(conversation_key=conversation, text="查验次数超过限制了")
    assert r.text.startswith("新的答案：明天再查")


def test_deactivating_an_entry_removes_it(django_capture_on_commit_callbacks):
    entries = FaqEntry.objects.filter(intent_id="check_limit")
    with django_capture_on_commit_callbacks(execute=True):
        for entry in entries:
            faq_entry_update(entry=entry, active=False)
    assert classify("查验次数超过限制了").intent != "check_limit"


def test_synonym_group_edit_applies(django_capture_on_commit_callbacks):
    assert classify("发票查不到").intent == "invoice_not_found"
    group = SynonymGroup.objects.get(canonical="查不到")
    group.variants += "\n瞅不见"
    with django_capture_on_commit_callbacks(execute=True):
        kb_object_save(obj=group)
    c = classify("发票瞅不见")
    assert c.intent == "invoice_not_found"
    assert "查不到" in c.analysis.canonical


def test_bulk_delete_publishes(django_capture_on_commit_callbacks):
    version = kb_version()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        deleted = kb_objects_delete(queryset=Keyword.objects.filter(intent_id="oos"))
    assert deleted > 10
    assert len(callbacks) == 1
    assert kb_version() != version
    assert not any(kw.intent == "oos" for kw in current_index().keywords)


def test_bump_happens_now_and_again_on_commit(django_capture_on_commit_callbacks):
    from django.core.cache import cache

    start = kb_version()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        keyword_create(word="锁定", weight=2.0, intent_id="void_red_status")
        during = cache.get(VERSION_KEY)
    assert during != start
    for callback in callbacks:
        callback()
    assert cache.get(VERSION_KEY) not in (start, during)


def test_domain_word_added_becomes_one_token(django_capture_on_commit_callbacks):
    from bot.nlu import segment
    from bot.nlu.models import DomainWord

    assert "锁票期" not in segment.segment("发票还在锁票期内")
    with django_capture_on_commit_callbacks(execute=True):
        kb_object_save(obj=DomainWord(word="锁票期"))
    tokens = current_index().analyse("发票还在锁票期内").tokens
    assert "锁票期" in tokens
