from django.core.management.base import BaseCommand, CommandError

from bot.nlu.evaluation import evaluate, read_tsv
from bot.nlu.matcher import classify


class Command(BaseCommand):
    help = "Evaluate the live knowledge base on a labelled TSV file (intent<TAB>text)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="TSV file in the format of dev.tsv")

    def handle(self, *args, **options):
        try:
            rows = read_tsv(options["file"])
        except OSError as exc:
            raise CommandError(f"cannot read {options['file']}: {exc}") from exc
        if not rows:
            raise CommandError("no labelled rows")

        def predict(text: str) -> tuple[str, float]:
            c = classify(text)
            return c.intent, c.score

        report = evaluate(rows, predict)
        out = self.stdout
        out.write(f"examples:        {report.total}")
        out.write(f"accuracy:        {report.accuracy:.4f}")
        out.write(f"macro-F1:        {report.macro_f1:.4f}")
        out.write(f"oos precision:   {report.oos_precision:.4f}")
        out.write(f"oos recall:      {report.oos_recall:.4f}")
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
