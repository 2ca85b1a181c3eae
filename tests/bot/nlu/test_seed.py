"""The seeded knowledge base: coverage of the catalogue, answers, no copied eval lines."""

import re
from pathlib import Path

import pytest

from bot.nlu.evaluation import read_tsv
from bot.nlu.models import ANSWER_MAX_CHARS, FaqEntry, Intent, ReplyTemplate
from bot.nlu.normalize import normalise
from bot.nlu.selectors import kb_texts

HERE = Path(__file__).parent
# Copies of ../shared/nlu (the intent contract and the labelled dev set).
SHARED = Path(__file__).resolve().parent / "data"
# Named one by one: data/written_untuned.tsv is the lead's untuned held-out set and is
# never read here (not even by a glob).
EVAL_FILES = [
    SHARED / "dev.tsv",
    HERE / "heldout.tsv",
    HERE / "user_style.tsv",
    HERE / "blind_heldout.tsv",
    SHARED / "real_tune.tsv",
    SHARED / "real_calib.tsv",
    SHARED / "written_tune.tsv",
    SHARED / "written_round5.tsv",
    SHARED / "written_round6.tsv",
    SHARED / "written_round7.tsv",
    SHARED / "written_round8.tsv",
    SHARED / "written_round9.tsv",
    SHARED / "written_round10.tsv",
]
# What the bot offers to do next; every answer's last sentence names one.
NEXT_STEP_RE = re.compile(r"发给我|转人工|复查|帮您|告诉我|直接描述|联系您|问我")

pytestmark = pytest.mark.django_db


def _catalogue_ids() -> list[str]:
    text = (SHARED / "intents.md").read_text(encoding="utf-8")
    return re.findall(r"^\| `([a-z_]+)` \|", text, flags=re.MULTILINE)


def test_every_catalogue_intent_is_seeded_with_an_active_entry():
    ids = _catalogue_ids()
    assert len(ids) == 20
    assert set(Intent.objects.values_list("id", flat=True)) == set(ids)
    with_entries = set(FaqEntry.objects.filter(active=True).values_list("intent_id", flat=True))
    assert with_entries == set(ids)


def test_answers_are_short_and_end_with_the_next_step():
    for entry in FaqEntry.objects.all():
        assert len(entry.answer) <= 300, entry.key
        last = [s for s in re.split(r"[。！？]", entry.answer) if s.strip()][-1]
        assert NEXT_STEP_RE.search(last), (entry.key, last)
    for reply in ReplyTemplate.objects.all():
        assert len(reply.text) <= ANSWER_MAX_CHARS


@pytest.mark.parametrize(
    ("key", "facts"),
    [
        ("verify_howto", ["不含税金额", "校验码后6位", "价税合计", "5次", "次日"]),
        ("digital_howto", ["20位", "代码留空", "价税合计"]),
        ("mismatch_special", ["不含税金额"]),
        ("mismatch_digital", ["价税合计", "代码留空"]),
        ("sync_delay", ["次日", "24小时", "离线开票"]),
        ("check_limit", ["5次"]),
        ("void_red", ["重新开具"]),
        ("cross_region", ["全国增值税发票查验平台", "开票地"]),
        ("human_agent", ["12366"]),
        ("verify_check_code", ["后6位", "不含税金额", "价税合计"]),
        ("verify_non_vat", ["定额发票", "12366", "财政电子票据查验平台"]),
        ("red_seller", ["不能作废", "红字发票信息确认单", "直接全额红冲"]),
        ("red_confirm_form", ["72小时", "自动作废", "进项税额转出"]),
        ("void_howto", ["不能作废", "当月", "红字发票"]),
        ("abnormal", ["进项税额转出"]),
        ("issuing_offline", ["离线开票时限", "上传"]),
        ("issuing_quota", ["发票额度调整申请"]),
        ("issuing_type", ["票种核定"]),
        ("account_staff", ["人员权限管理", "办税员"]),
        ("account_locked", ["忘记密码", "12366"]),
        ("verify_platform_cert", ["根证书"]),
        ("oos_iit", ["个人所得税", "12366", "3月1日至6月30日"]),
        ("oos_deduction", ["个人所得税", "专项附加扣除"]),
        ("oos_social", ["12333", "12366", "12329"]),
        ("oos_corp_tax", ["电子税务局", "12366", "5月31日"]),
        ("oos_register", ["电子税务局", "12366"]),
        ("oos_property", ["电子税务局", "12366"]),
    ],
)
def test_answers_state_the_domain_facts(key, facts):
    answer = FaqEntry.objects.get(key=key).answer
    for fact in facts:
        assert fact in answer, (key, fact)


@pytest.mark.parametrize("path", EVAL_FILES, ids=lambda p: p.name)
def test_no_evaluation_line_is_copied_into_the_kb(path):
    """Questions, paraphrases, answers and phrase keywords are our own wording.

    One-word keywords (你好, 转人工) and quick-reply button labels are vocabulary,
    not examples, so they may coincide with a one-word message.
    """
    if not path.exists():
        pytest.skip(f"{path} not present")
    texts = kb_texts()
    assert len(texts) > 400
    kb_exact = set(texts)
    kb_norm = {normalise(t) for t in texts}
    copied = [
        text
        for _intent, text in read_tsv(path)
        if text in kb_exact or (len(normalise(text)) > 4 and normalise(text) in kb_norm)
    ]
    assert copied == []


def test_every_seeded_row_passes_model_validation():
    from bot.nlu.models import DomainWord, Keyword, SynonymGroup

    for model in (Intent, FaqEntry, Keyword, SynonymGroup, DomainWord, ReplyTemplate):
        rows = list(model.objects.all())
        assert rows, model
        for row in rows:
            row.full_clean()


def test_a_fresh_database_holds_exactly_the_seed():
    """0002 loads the frozen first seed and every later migration its frozen delta:
    together they must give kb.json, so a change of kb.json needs its own migration."""
    from bot.nlu.seed import seed_snapshot
    from bot.nlu.selectors import kb_snapshot

    def comparable(snapshot):
        return {
            "intents": sorted((i["id"], i["name"]) for i in snapshot["intents"]),
            "entries": sorted(
                (
                    e["key"],
                    e["intent"],
                    e["question"],
                    tuple(sorted(e["paraphrases"])),
                    e["answer"],
                    tuple(e["quick_replies"]),
                    e["priority"],
                )
                for e in snapshot["entries"]
            ),
            "keywords": sorted(
                (k["word"], float(k["weight"]), k["kind"], k["intent"] or "", k["entry"] or "")
                for k in snapshot["keywords"]
            ),
            "synonyms": sorted(
                (g["canonical"], tuple(sorted(g["variants"]))) for g in snapshot["synonyms"]
            ),
            "domain_words": sorted(w["word"] for w in snapshot["domain_words"]),
            "replies": snapshot["replies"],
        }

    db, seed = comparable(kb_snapshot()), comparable(seed_snapshot())
    for part in seed:
        assert db[part] == seed[part], part


def test_the_frozen_delta_is_the_difference_of_the_seeds():
    from bot.nlu.seed import load_history, load_seed, seed_delta

    # Each migration's delta is the difference of the seed before it and the seed after:
    # kb_0004 is kb.json as 0004 left it.
    assert seed_delta(load_history("kb_0002"), load_history("kb_0004")) == load_history(
        "delta_0004"
    )
    assert seed_delta(load_history("kb_0004"), load_seed()) == load_history("delta_0005")


def test_a_delta_keeps_what_operators_edited():
    from django.apps import apps

    from bot.nlu.models import Keyword, SynonymGroup
    from bot.nlu.seed import load_history, seed_delta_apply

    delta = load_history("delta_0004")
    changed_key, change = next(
        (k, c) for k, c in delta["entries_change"].items() if "paraphrases_add" in c
    )
    added_key = delta["entries_add"][0]["key"]
    # An existing KB: an operator rewrote one answer, deleted a new entry's row and a
    # keyword the delta would re-add, and the delta already ran once.
    edited = FaqEntry.objects.get(key=changed_key)
    edited.answer = "运营改过的答案，转人工。"
    edited.save()
    FaqEntry.objects.filter(key=added_key).delete()
    reweighted = Keyword.objects.filter(intent_id="reimbursement_import", word="报销").get()
    reweighted.weight = 2.5
    reweighted.save()
    seed_delta_apply(apps, delta)
    edited.refresh_from_db()
    assert edited.answer == "运营改过的答案，转人工。"
    assert all(p in edited.paraphrase_list for p in change["paraphrases_add"])
    assert len(edited.paraphrase_list) == len(set(edited.paraphrase_list))  # no doubles
    assert FaqEntry.objects.filter(key=added_key).exists()  # new entries are added once
    assert Keyword.objects.get(intent_id="reimbursement_import", word="报销").weight == 2.5
    group = SynonymGroup.objects.get(canonical="查不到")
    assert len(group.variant_list) == len(set(group.variant_list))


def test_neighbouring_tax_topics_are_out_of_scope_with_where_to_go():
    from bot.nlu.context import ConversationState
    from bot.nlu.services import nlu_understand

    for text, where in [
        ("个税退税一直显示审核中，怎么办", "个人所得税"),
        ("子女教育的专项附加扣除在哪填", "个人所得税"),
        ("公司准备注销了，税务上要办什么", "电子税务局"),
        ("灵活就业人员的社保怎么交", "12333"),
    ]:
        reply = nlu_understand(state=ConversationState(), text=text).reply
        assert (reply.intent, reply.action) == ("oos", "oos"), text
        assert where in reply.text, (text, reply.text)


def test_a_delta_removes_a_variant_the_seed_dropped_unless_an_operator_did():
    from django.apps import apps

    from bot.nlu.models import SynonymGroup
    from bot.nlu.seed import load_history, seed_delta_apply

    delta = load_history("delta_0005")
    assert delta["synonym_variants_remove"] == {"作废": ["void"]}
    group = SynonymGroup.objects.get(canonical="作废")
    assert "void" not in group.variant_list  # the migrations removed it
    group.variants = "\n".join([*group.variant_list, "void", "运营加的"])
    group.save()
    seed_delta_apply(apps, delta)
    group.refresh_from_db()
    assert "void" not in group.variant_list and "运营加的" in group.variant_list
    seed_delta_apply(apps, delta)  # again: nothing left to remove, nothing breaks
    group.refresh_from_db()
    assert "运营加的" in group.variant_list


def test_english_synonyms_leave_other_words_alone(seed_index):
    assert "作废" not in seed_index.analyse("I want to avoid problems").canonical
    assert "作废" in seed_index.analyse("how to void the invoice").canonical
    assert "校验码" in seed_index.analyse("where is the check code").canonical
