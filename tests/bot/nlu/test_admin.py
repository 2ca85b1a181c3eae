"""KB editing in admin and the 试一试 console, through the admin URLs."""

import pytest
from django.urls import reverse

from bot.nlu.loader import kb_version
from bot.nlu.models import FaqEntry, Keyword

pytestmark = pytest.mark.django_db

TEXT = "我的发票被税务局锁定了"


def _try(client, text, *, reset=True):
    data = {"text": text}
    if reset:
        data["reset_context"] = "on"
    response = client.post(reverse("admin:nlu_faqentry_console"), data)
    assert response.status_code == 200
    return response


def _keyword_form(**overrides):
    data = {"word": "锁定", "weight": "2.0", "kind": "boost", "intent": "void_red_status"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_console_shows_every_stage(admin_client):
    response = admin_client.get(reverse("admin:nlu_faqentry_console"))
    assert response.status_code == 200
    assert "试一试" in response.content.decode()

    response = _try(admin_client, "發票在系統裡查不倒😭")
    c, a, r = (response.context["result"][k] for k in ("classification", "analysis", "reply"))
    page = response.content.decode()
    assert a.normalised == "发票在系统里查不倒"
    assert "查不到" in a.canonical  # homophone repaired
    assert 'id="nlu-normalised">发票在系统里查不倒<' in page
    assert " / ".join(a.tokens) in page
    assert c.intent == "invoice_not_found"
    assert c.candidates[0].intent in page
    assert r.text.splitlines()[0] in page


def test_keyword_added_in_admin_applies_without_restart(admin_client):
    assert _try(admin_client, TEXT).context["result"]["classification"].intent != "void_red_status"
    version = kb_version()
    response = admin_client.post(reverse("admin:nlu_keyword_add"), _keyword_form())
    assert response.status_code == 302, response.content.decode()[:2000]
    assert kb_version() != version
    c = _try(admin_client, TEXT).context["result"]["classification"]
    assert (c.intent, c.action) == ("void_red_status", "answer")

    keyword = Keyword.objects.get(word="锁定")
    url = reverse("admin:nlu_keyword_change", args=[keyword.pk])
    response = admin_client.post(url, _keyword_form(intent="check_limit"))
    assert response.status_code == 302
    assert _try(admin_client, TEXT).context["result"]["classification"].intent == "check_limit"

    url = reverse("admin:nlu_keyword_delete", args=[keyword.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    c = _try(admin_client, TEXT).context["result"]["classification"]
    assert "锁定" not in c.matched_keywords


def test_invalid_regex_keyword_is_refused_in_admin(admin_client):
    version = kb_version()
    response = admin_client.post(reverse("admin:nlu_keyword_add"), _keyword_form(word="re:(["))
    assert response.status_code == 200
    assert "正则表达式无效" in response.content.decode()
    assert not Keyword.objects.filter(word="re:([").exists()
    assert kb_version() == version


def test_answer_edited_in_admin_is_sent(admin_client):
    entry = FaqEntry.objects.get(key="check_limit")
    url = reverse("admin:nlu_faqentry_change", args=[entry.pk])
    form = admin_client.get(url).context["adminform"].form
    data = {name: form.initial.get(name, "") for name in form.fields}
    data.update(
        intent=entry.intent_id,
        answer="每张票每天最多查5次，明天再查即可，我也可以明天帮您复查。",
        active="on",
        **{
            "keywords-TOTAL_FORMS": "0",
            "keywords-INITIAL_FORMS": "0",
            "keywords-MIN_NUM_FORMS": "0",
            "keywords-MAX_NUM_FORMS": "1000",
        },
    )
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    reply = _try(admin_client, "查验次数超过限制了").context["result"]["reply"]
    assert reply.text.startswith("每张票每天最多查5次，明天再查即可")


def test_keyword_added_inline_on_an_entry_applies(admin_client):
    entry = FaqEntry.objects.get(key="abnormal")
    url = reverse("admin:nlu_faqentry_change", args=[entry.pk])
    form = admin_client.get(url).context["adminform"].form
    data = {name: form.initial.get(name, "") for name in form.fields}
    existing = list(entry.keywords.order_by("pk"))
    data.update(intent=entry.intent_id, active="on")
    data.update(
        {
            "keywords-TOTAL_FORMS": str(len(existing) + 1),
            "keywords-INITIAL_FORMS": str(len(existing)),
            "keywords-MIN_NUM_FORMS": "0",
            "keywords-MAX_NUM_FORMS": "1000",
        }
    )
    for n, kw in enumerate(existing):
        data.update(
            {
                f"keywords-{n}-id": str(kw.pk),
                f"keywords-{n}-entry": str(entry.pk),
                f"keywords-{n}-word": kw.word,
                f"keywords-{n}-weight": str(kw.weight),
                f"keywords-{n}-kind": kw.kind,
            }
        )
    n = len(existing)
    data.update(
        {
            f"keywords-{n}-entry": str(entry.pk),
            f"keywords-{n}-word": "锁定",
            f"keywords-{n}-weight": "2.0",
            f"keywords-{n}-kind": "boost",
        }
    )
    version = kb_version()
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert kb_version() != version
    c = _try(admin_client, TEXT).context["result"]["classification"]
    assert c.entry is not None and c.entry.key == "abnormal"


def test_bulk_delete_action_publishes(admin_client):
    ids = list(Keyword.objects.filter(intent_id="oos").values_list("pk", flat=True))
    version = kb_version()
    response = admin_client.post(
        reverse("admin:nlu_keyword_changelist"),
        {"action": "delete_selected", "_selected_action": ids, "post": "yes"},
    )
    assert response.status_code == 302
    assert not Keyword.objects.filter(pk__in=ids).exists()
    assert kb_version() != version


def test_console_needs_staff_login(client):
    response = client.get(reverse("admin:nlu_faqentry_console"))
    assert response.status_code == 302
    assert "/login/" in response["Location"]
