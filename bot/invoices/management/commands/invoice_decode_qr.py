"""Read the invoice QR code of image files: one JSON object per image."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand

from bot.invoices.management.commands.invoice_extract import OUTPUT_FIELDS
from bot.invoices.qr import MAX_IMAGE_BYTES, qr_image_decode

UNREADABLE_FILE = "unreadable_file"


def decode_line(path: str) -> dict:
    """The fields of invoice_extract plus "payload"; "reason" only when it gives no invoice."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_IMAGE_BYTES + 1)
    except OSError:
        result = None
        reason = UNREADABLE_FILE
    else:
        result = qr_image_decode(data)
        reason = result.reason.value if result.reason else None
    fields = result.as_json() if result is not None else {}
    line = {name: fields.get(name) for name in OUTPUT_FIELDS}
    line["payload"] = fields.get("payload")
    if reason is not None:
        line["reason"] = reason
    return line


class Command(BaseCommand):
    help = "Decode the invoice QR code in each image (one JSON line each, in argument order)."

    def add_arguments(self, parser):
        parser.add_argument("images", nargs="+", type=Path)

    def handle(self, *args, **options):
        for path in options["images"]:
            line = decode_line(str(path))
            self.stdout.write(json.dumps(line, ensure_ascii=False))
