"""`nlu_classify` and `nlu_eval` output formats."""

import io
import json
import sys

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


def _classify(monkeypatch, lines: list[str]) -> list[dict]:
    data = "\n".join(lines).encode("utf-8") + b"\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="latin-1"))
    out = io.StringIO()
    call_command("nlu_classify", stdout=out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_nlu_classify_writes_one_json_object_per_line(monkeypatch):
    records = _classify(monkeypatch, ["刚开的发票怎么查不到", "讲个笑话", "", "发票作废了"])
    assert [r["text"] for r in records] == ["刚开的发票怎么查不到", "讲个笑话", "", "发票作废了"]
    for r in records:
        assert list(r) == ["text", "intent", "score", "candidates"]
        assert isinstance(r["score"], float)
        for cand in r["candidates"]:
            assert list(cand) == ["intent", "score"]
        scores = [cand["score"] for cand in r["candidates"]]
        assert scores == sorted(scores, reverse=True)
    assert [r["intent"] for r in records] == ["sync_delay", "oos", "oos", "void_red_status"]
    assert records[0]["candidates"][0] == {"intent": "sync_delay", "score": records[0]["score"]}
    assert records[2]["candidates"] == []


def test_nlu_classify_uses_the_live_kb(monkeypatch, django_capture_on_commit_callbacks):
    from bot.nlu.services import keyword_create

    assert _classify(monkeypatch, ["发票被锁定了"])[0]["intent"] != "check_limit"
    with django_capture_on_commit_callbacks(execute=True):
        keyword_create(word="锁定", weight=3.0, intent_id="check_limit")
    assert _classify(monkeypatch, ["发票被锁定了"])[0]["intent"] == "check_limit"


def test_nlu_eval_prints_the_figures_and_the_mistakes(tmp_path):
    path = tmp_path / "eval.tsv"
    path.write_text(
        "intent\ttext\n"
        "sync_delay\t刚开的发票怎么查不到\n"
        "oos\t讲个笑话\n"
        "void_red_status\t发票作废了\n"
        "check_limit\t发票被作废了怎么办\n",  # deliberately mislabelled
        encoding="utf-8",
    )
    out = io.StringIO()
    call_command("nlu_eval", str(path), stdout=out)
    text = out.getvalue()
    assert "examples:        4" in text
    assert "accuracy:        0.7500" in text
    assert "macro-F1:" in text
    assert "oos precision:   1.0000" in text
    assert "oos recall:      1.0000" in text
    assert "most confused (gold -> predicted):\n  check_limit -> void_red_status: 1" in text
    assert "misclassified (1):\n  check_limit\tvoid_red_status\t" in text
    assert text.rstrip().endswith("发票被作废了怎么办")


def test_nlu_eval_reaches_the_targets_on_dev_tsv():
    from pathlib import Path

    dev = Path(__file__).resolve().parents[1] / "data" / "dev.tsv"
    out = io.StringIO()
    call_command("nlu_eval", str(dev), stdout=out)
    figures = dict(line.split(":", 1) for line in out.getvalue().splitlines()[:5] if ":" in line)
    assert float(figures["accuracy"]) >= 0.95
    assert float(figures["macro-F1"]) >= 0.95
    assert float(figures["oos precision"]) >= 0.9
    assert float(figures["oos recall"]) >= 0.9


def test_nlu_eval_refuses_a_missing_or_empty_file(tmp_path):
    with pytest.raises(CommandError):
        call_command("nlu_eval", str(tmp_path / "missing.tsv"))
    empty = tmp_path / "empty.tsv"
    empty.write_text("intent\ttext\n", encoding="utf-8")
    with pytest.raises(CommandError):
        call_command("nlu_eval", str(empty))


def test_nlu_eval_reads_extra_columns_and_reports_confidently_wrong(tmp_path):
    path = tmp_path / "eval.tsv"
    path.write_text(
        "intent\ttext\tsource\n"
        "sync_delay\t刚开的发票怎么查不到\tforum\n"
        "oos\t讲个笑话\tforum\tnote\n"
        "check_limit\t发票被作废了怎么办\tforum\n",  # deliberately mislabelled
        encoding="utf-8",
    )
    out = io.StringIO()
    call_command("nlu_eval", str(path), stdout=out)
    text = out.getvalue()
    assert "examples:        3" in text
    assert "accuracy:        0.6667" in text
    assert "confidently wrong: 0.5000 (1 of 2 answered" in text
    assert "forum" not in text  # the third column is not part of the text


def test_nlu_eval_on_the_seed_several_files_and_calibration(tmp_path):
    a, b = tmp_path / "a.tsv", tmp_path / "b.tsv"
    a.write_text("sync_delay\t刚开的发票怎么查不到\n", encoding="utf-8")
    b.write_text("intent\ttext\noos\t讲个笑话\n", encoding="utf-8")
    out = io.StringIO()
    call_command("nlu_eval", "--seed", "--summary", "--calibrate", str(a), str(b), stdout=out)
    text = out.getvalue()
    assert f"== {a}" in text and f"== {b}" in text
    assert text.count("accuracy:        1.0000") == 2
    assert "misclassified" not in text  # --summary
    assert "calibration over 2 messages" in text
