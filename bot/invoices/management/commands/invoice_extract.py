"""Read invoice fields from lines of text: one JSON object per input line."""

import json
import sys

from django.core.management.base import BaseCommand

from bot.invoices.extraction import fields_extract

OUTPUT_FIELDS = (
    "invoice_code",
    "invoice_number",
    "issue_date",
    "amount",
    "check_code",
    "kind",
    "region",
)


def extraction_line(text: str) -> dict:
    """The issue's output shape: the text, then each field or null."""
    fields = fields_extract(text).as_json()
    return {"text": text, **{name: fields[name] for name in OUTPUT_FIELDS}}


class Command(BaseCommand):
    help = "Read lines on stdin and write one JSON object of invoice fields per line."
    stealth_options = ("stdin",)

    def handle(self, *args, **options):
        stdin = options.get("stdin") or sys.stdin
        for raw in stdin:
            text = raw.rstrip("\r\n")
            self.stdout.write(json.dumps(extraction_line(text), ensure_ascii=False))
