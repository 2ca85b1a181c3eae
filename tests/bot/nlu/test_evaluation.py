"""Evaluation figures, and the seed KB's accuracy on labelled user-style messages."""

from pathlib import Path

import pytest

from bot.nlu.evaluation import evaluate, read_tsv
from bot.nlu.matcher import classify_with

HERE = Path(__file__).parent
# Copies of ../shared/nlu (the intent contract and the labelled dev set).
SHARED = Path(__file__).resolve().parent / "data"


def test_evaluate_counts_accuracy_f1_and_oos():
    rows = [("a", "x1"), ("a", "x2"), ("b", "y1"), ("oos", "z1"), ("oos", "z2")]
    predicted = {"x1": "a", "x2": "b", "y1": "b", "z1": "oos", "z2": "a"}
    report = evaluate(rows, lambda t: (predicted[t], 0.5))
    assert report.total == 5 and report.correct == 3
    assert report.accuracy == pytest.approx(0.6)
    assert report.per_intent_f1["b"] == pytest.approx(2 / 3)  # p=1/2, r=1
    assert report.oos_precision == pytest.approx(1.0)
    assert report.oos_recall == pytest.approx(0.5)
    assert sorted(report.confusions) == [(("a", "b"), 1), (("oos", "a"), 1)]
    assert [e[2] for e in report.errors] == ["x2", "z2"]


def test_read_tsv_skips_header_and_blank_lines(tmp_path):
    path = tmp_path / "x.tsv"
    path.write_text("intent\ttext\n\ngreeting\t你好\toops\noos\t\n", encoding="utf-8")
    assert read_tsv(path) == [("greeting", "你好\toops"), ("oos", "")]


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("dev", SHARED / "dev.tsv"),
        ("heldout", HERE / "heldout.tsv"),
        ("user_style", HERE / "user_style.tsv"),
        ("blind_heldout", HERE / "blind_heldout.tsv"),
    ],
)
def test_seed_kb_accuracy_on_labelled_sets(seed_index, name, path):
    if not path.exists():
        pytest.skip(f"{path} not present")
    report = evaluate(read_tsv(path), lambda t: (classify_with(seed_index, t).intent, 0.0))
    assert report.total >= 80
    assert report.accuracy >= 0.95, report.errors
    assert report.macro_f1 >= 0.95
    assert report.oos_precision >= 0.9 and report.oos_recall >= 0.9
