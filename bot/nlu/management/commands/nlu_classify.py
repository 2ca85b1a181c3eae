import io
import json
import sys

from django.core.management.base import BaseCommand

from bot.nlu.matcher import classify


class Command(BaseCommand):
    help = "Classify UTF-8 lines from stdin with the live knowledge base; print one JSON per line."

    def handle(self, *args, **options):
        stdin = getattr(self, "_stdin", None) or io.TextIOWrapper(
            sys.stdin.buffer, encoding="utf-8", errors="replace"
        )
        for line in stdin:
            text = line.rstrip("\r\n")
            c = classify(text)
            record = {
                "text": text,
                "intent": c.intent,
                "score": c.score,
                "action": c.action,
                "candidates": [[intent, score] for intent, score in c.candidate_pairs],
            }
            self.stdout.write(json.dumps(record, ensure_ascii=False))
