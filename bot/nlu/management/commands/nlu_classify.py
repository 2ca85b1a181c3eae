import io
import json
import sys

from django.core.management.base import BaseCommand

from bot.nlu.matcher import classify


class Command(BaseCommand):
    help = (
        "Classify UTF-8 lines from stdin with the live knowledge base and write one JSON "
        'object per line: {"text", "intent", "score", "candidates": [{"intent", "score"}]}.'
    )

    def handle(self, *args, **options):
        # Read bytes and decode ourselves: the locale of a cron job or a pipe may not be UTF-8.
        stdin = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
        for line in stdin:
            text = line.rstrip("\r\n")
            c = classify(text)
            record = {
                "text": text,
                "intent": c.intent,
                "score": c.score,
                "candidates": [
                    {"intent": intent, "score": score} for intent, score in c.candidate_pairs
                ],
            }
            self.stdout.write(json.dumps(record, ensure_ascii=False))
            self.stdout.flush()
