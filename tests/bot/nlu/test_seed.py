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
EVAL_FILES = [
    SHARED / "dev.tsv",
    HERE / "heldout.tsv",
    HERE / "user_style.tsv",
    HERE / "blind_heldout.tsv",
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
