from django.core.management.base import BaseCommand, CommandError

from bot.nlu.evaluation import Prediction, evaluate, read_tsv, threshold_table
from bot.nlu.matcher import Classification, classify, classify_with

CALIBRATION_THRESHOLDS = [0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0, 2.2, 2.5]
CALIBRATION_MARGINS = [0.0, 0.15, 0.3, 0.45, 0.6, 0.8]


def prediction(c: Classification) -> Prediction:
    """The figures evaluation needs from one classification."""
    runner_up = c.candidates[1].score if len(c.candidates) > 1 else 0.0
    top = c.candidates[0].score if c.candidates else 0.0
    return Prediction(c.intent, c.score, c.action, round(top - runner_up, 4))


class Command(BaseCommand):
    help = (
        "Evaluate the knowledge base on labelled TSV files (intent<TAB>text[<TAB>anything]): "
        "accuracy, macro-F1, oos precision/recall, confidently wrong answers, mistakes."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", help="TSV files in the format of dev.tsv")
        parser.add_argument(
            "--seed",
            action="store_true",
            help="use the seed KB (bot/nlu/seed/kb.json) compiled in memory, not the database",
        )
        parser.add_argument(
            "--calibrate",
            action="store_true",
            help="also print answered share and precision per answer threshold and margin",
        )
        parser.add_argument(
            "--summary", action="store_true", help="figures only: no per-intent F1, no mistakes"
        )

    def handle(self, *args, **options):
        if options["seed"]:
            from bot.nlu.kbindex import KbIndex
            from bot.nlu.seed import seed_snapshot

            index = KbIndex.build(seed_snapshot(), version="seed")

            def run(text: str) -> Classification:
                return classify_with(index, text)
        else:
            run = classify
        every = []
        for path in options["files"]:
            try:
                rows = read_tsv(path)
            except OSError as exc:
                raise CommandError(f"cannot read {path}: {exc}") from exc
            if not rows:
                raise CommandError(f"no labelled rows in {path}")
            if len(options["files"]) > 1:
                self.stdout.write(f"== {path}")
            report = evaluate(rows, lambda text: prediction(run(text)))
            every += report.predictions
            self._report(report, summary=options["summary"])
        if options["calibrate"]:
            self._calibration(every)

    def _report(self, report, *, summary: bool) -> None:
        out = self.stdout
        out.write(f"examples:        {report.total}")
        out.write(f"accuracy:        {report.accuracy:.4f}")
        out.write(f"macro-F1:        {report.macro_f1:.4f}")
        out.write(f"oos precision:   {report.oos_precision:.4f}")
        out.write(f"oos recall:      {report.oos_recall:.4f}")
        out.write(
            f"confidently wrong: {report.confidently_wrong_rate:.4f} "
            f"({report.answered_wrong} of {report.answered} answered, "
            f"{report.answered_share:.0%} of all)"
        )
        if summary:
            return
        out.write("per-intent F1:")
        for intent, f1 in sorted(report.per_intent_f1.items(), key=lambda kv: kv[1]):
            out.write(f"  {intent:<22} {f1:.3f}")
        out.write("most confused (gold -> predicted):")
        for (gold, pred), n in report.confusions or []:
            out.write(f"  {gold} -> {pred}: {n}")
        if not report.confusions:
            out.write("  none")
        out.write(f"misclassified ({len(report.errors)}):")
        for gold, pred, text, score in report.errors:
            out.write(f"  {gold}\t{pred}\t{score:.3f}\t{text}")

    def _calibration(self, predictions) -> None:
        out = self.stdout
        out.write(f"calibration over {len(predictions)} messages (answered share / precision):")
        out.write("  threshold " + "".join(f"   margin {m:<5}" for m in CALIBRATION_MARGINS))
        table = threshold_table(predictions, CALIBRATION_THRESHOLDS, CALIBRATION_MARGINS)
        for t in CALIBRATION_THRESHOLDS:
            cells = [r for r in table if r.threshold == t]
            out.write(
                f"  {t:<9} " + "".join(f"  {r.coverage:5.0%} / {r.precision:5.1%}" for r in cells)
            )
