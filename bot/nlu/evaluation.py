"""Accuracy figures for a labelled TSV file (the format of dev.tsv)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

OOS = "oos"


def read_tsv(path: str | Path) -> list[tuple[str, str]]:
    """Return (intent, text) rows of a TSV file with an `intent<TAB>text` header."""
    rows: list[tuple[str, str]] = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh):
            line = line.rstrip("\n")
            if not line.strip() or (n == 0 and line.startswith("intent\t")):
                continue
            intent, _, text = line.partition("\t")
            rows.append((intent.strip(), text))
    return rows


@dataclass
class EvalReport:
    total: int = 0
    correct: int = 0
    per_intent_f1: dict[str, float] = field(default_factory=dict)
    oos_precision: float = 0.0
    oos_recall: float = 0.0
    confusions: list[tuple[tuple[str, str], int]] = field(default_factory=list)
    errors: list[tuple[str, str, str, float]] = field(
        default_factory=list
    )  # gold, pred, text, score

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    @property
    def macro_f1(self) -> float:
        values = list(self.per_intent_f1.values())
        return sum(values) / len(values) if values else 0.0


def evaluate(
    rows: Iterable[tuple[str, str]], predict: Callable[[str], tuple[str, float]]
) -> EvalReport:
    """Score `predict` (text → intent, score) on labelled rows."""
    report = EvalReport()
    gold_count: Counter[str] = Counter()
    pred_count: Counter[str] = Counter()
    hit: Counter[str] = Counter()
    pairs: Counter[tuple[str, str]] = Counter()
    for gold, text in rows:
        pred, score = predict(text)
        report.total += 1
        gold_count[gold] += 1
        pred_count[pred] += 1
        if pred == gold:
            report.correct += 1
            hit[gold] += 1
        else:
            pairs[(gold, pred)] += 1
            report.errors.append((gold, pred, text, score))
    for label in sorted(gold_count):
        p = hit[label] / pred_count[label] if pred_count[label] else 0.0
        r = hit[label] / gold_count[label]
        report.per_intent_f1[label] = 2 * p * r / (p + r) if p + r else 0.0
    report.oos_precision = hit[OOS] / pred_count[OOS] if pred_count[OOS] else 0.0
    report.oos_recall = hit[OOS] / gold_count[OOS] if gold_count[OOS] else 0.0
    report.confusions = pairs.most_common(10)
    return report
