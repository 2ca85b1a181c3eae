"""Import the operator's issued invoices from CSV; re-importing updates rows in place."""

import csv
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from bot.invoices.ledger import (
    LEDGER_COLUMNS,
    ImportReport,
    LedgerRowError,
    ledger_batch_upsert,
    ledger_row_parse,
)

REQUIRED_COLUMNS = {"invoice_number", "issue_date", "amount", "total", "status"}
MAX_REPORTED_ERRORS = 200


class Command(BaseCommand):
    help = (
        "Import the ledger from a CSV file with the columns "
        + ", ".join(LEDGER_COLUMNS)
        + ". Rows are matched on (invoice_code, invoice_number): new ones are added, known ones"
        " updated. Bad rows are reported with their line number and skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV file (UTF-8, a BOM is fine)")
        parser.add_argument("--batch-size", type=int, default=1000)
        parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    def handle(self, *args, file: str, batch_size: int, no_progress: bool, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"no such file: {file}")
        with path.open(newline="", encoding="utf-8-sig") as handle:
            total_lines = sum(1 for _ in handle) - 1
            handle.seek(0)
            reader = csv.DictReader(handle)
            header = {(name or "").strip() for name in reader.fieldnames or []}
            missing = REQUIRED_COLUMNS - header
            if missing:
                raise CommandError(f"missing columns: {', '.join(sorted(missing))}")
            report = self._import(reader, batch_size, total_lines, no_progress)
        for line, message in report.errors[:MAX_REPORTED_ERRORS]:
            self.stderr.write(f"line {line}: {message}")
        if len(report.errors) > MAX_REPORTED_ERRORS:
            self.stderr.write(f"... and {len(report.errors) - MAX_REPORTED_ERRORS} more errors")
        self.stdout.write(
            f"created {report.created}, updated {report.updated}, rejected {len(report.errors)}"
        )
        if report.errors and not (report.created or report.updated):
            raise CommandError("no row imported")

    def _import(self, reader, batch_size, total_lines, no_progress) -> ImportReport:
        report = ImportReport()
        batch: list[dict] = []

        def flush():
            created, updated = ledger_batch_upsert(rows=batch)
            report.created += created
            report.updated += updated
            batch.clear()

        rows = tqdm(
            reader, total=max(total_lines, 0), unit="row", disable=no_progress, file=self.stderr
        )
        for row in rows:
            row = {(k or "").strip(): v for k, v in row.items()}
            try:
                batch.append(ledger_row_parse(row))
            except LedgerRowError as exc:
                report.errors.append((reader.line_num, str(exc)))
                continue
            if len(batch) >= batch_size:
                flush()
        if batch:
            flush()
        return report
