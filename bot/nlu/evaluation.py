"""Accuracy figures for a labelled TSV file (the format of dev.tsv).

A file is `intent<TAB>text`, optionally followed by more tab-separated columns
(a source, a note …) that are ignored. A header line starting with `intent\t`
is skipped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.nlu.vocabulary import Intent, NluAction

OOS = Intent.OOS


def read_tsv(path: str | Path) -> list[tuple[str, str]]:
    """Return (intent, text) rows of a TSV file; columns after the text are ignored."""
    rows: list[tuple[str, str]] = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh):
            line = line.rstrip("\r\n")
            if not line.strip() or (n == 0 and line.startswith("intent\t")):
                continue
            intent, _, rest = line.partition("\t")
            text = rest.split("\t", 1)[0]
            rows.append((intent.strip(), text))
    return rows


@dataclass(frozen=True)
class Prediction:
    """What the NLU made of one message: the top intent, its score and the action."""

    intent: str
    score: float
    action: str | None = None  # NluAction; None when the predictor does not say
    margin: float = 0.0  # top score minus the runner-up's


@dataclass
class EvalReport:
    total: int = 0
    correct: int = 0
    answered: int = 0  # messages the NLU answered outright (action `answer`)
    answered_wrong: int = 0  # ... whose intent was wrong: confidently wrong
    per_intent_f1: dict[str, float] = field(default_factory=dict)
    oos_precision: float = 0.0
    oos_recall: float = 0.0
    confusions: list[tuple[tuple[str, str], int]] = field(default_factory=list)
    errors: list[tuple[str, str, str, float]] = field(
        default_factory=list
    )  # gold, pred, text, score
    predictions: list[tuple[str, Prediction]] = field(default_factory=list, repr=False)

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    @property
    def macro_f1(self) -> float:
        values = list(self.per_intent_f1.values())
        return sum(values) / len(values) if values else 0.0

    @property
    def confidently_wrong_rate(self) -> float:
        """Answered messages whose answer is wrong, over answered messages."""
        return self.answered_wrong / self.answered if self.answered else 0.0

    @property
    def answered_share(self) -> float:
        return self.answered / self.total if self.total else 0.0


def _as_prediction(value: Prediction | tuple) -> Prediction:
    if isinstance(value, Prediction):
        return value
    return Prediction(*value)


def evaluate(
    rows: Iterable[tuple[str, str]],
    predict: Callable[[str], Prediction | tuple[str, float] | tuple[str, float, str]],
) -> EvalReport:
    """Score `predict` (text → Prediction, or (intent, score[, action])) on labelled rows."""
    report = EvalReport()
    gold_count: Counter[str] = Counter()
    pred_count: Counter[str] = Counter()
    hit: Counter[str] = Counter()
    pairs: Counter[tuple[str, str]] = Counter()
    for gold, text in rows:
        p = _as_prediction(predict(text))
        pred = p.intent
        report.total += 1
        report.predictions.append((gold, p))
        gold_count[gold] += 1
        pred_count[pred] += 1
        if p.action == NluAction.ANSWER:
            report.answered += 1
            report.answered_wrong += pred != gold
        if pred == gold:
            report.correct += 1
            hit[gold] += 1
        else:
            pairs[(gold, pred)] += 1
            report.errors.append((gold, pred, text, p.score))
    for label in sorted(gold_count):
        p = hit[label] / pred_count[label] if pred_count[label] else 0.0
        r = hit[label] / gold_count[label]
        report.per_intent_f1[label] = 2 * p * r / (p + r) if p + r else 0.0
    report.oos_precision = hit[OOS] / pred_count[OOS] if pred_count[OOS] else 0.0
    report.oos_recall = hit[OOS] / gold_count[OOS] if gold_count[OOS] else 0.0
    report.confusions = pairs.most_common(10)
    return report


@dataclass(frozen=True)
class ThresholdRow:
    threshold: float
    margin: float
    answered: int
    wrong: int
    total: int

    @property
    def precision(self) -> float:
        return (self.answered - self.wrong) / self.answered if self.answered else 1.0

    @property
    def coverage(self) -> float:
        return self.answered / self.total if self.total else 0.0


def threshold_table(
    predictions: Sequence[tuple[str, Prediction]],
    thresholds: Sequence[float],
    margins: Sequence[float],
) -> list[ThresholdRow]:
    """Answered share and precision for each (answer threshold, margin) pair.

    A prediction counts as answerable when the NLU did not rule it out of scope
    (action `answer` or `clarify`); it would be answered at (t, m) when its score
    is at least t and it leads the runner-up by at least m. Used to calibrate
    `matcher.DEFAULTS` on held-out messages.
    """
    rows = []
    eligible = [
        (gold, p) for gold, p in predictions if p.action in (NluAction.ANSWER, NluAction.CLARIFY)
    ]
    for t in thresholds:
        for m in margins:
            picked = [(g, p) for g, p in eligible if p.score >= t and p.margin >= m]
            wrong = sum(1 for g, p in picked if p.intent != g)
            rows.append(ThresholdRow(t, m, len(picked), wrong, len(predictions)))
    return rows
