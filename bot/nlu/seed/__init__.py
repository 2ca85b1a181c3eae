"""The seed knowledge base (`kb.json`), loaded by the data migration.

`kb.json` nests keywords under their intent or entry for readability; this
module flattens it into the snapshot format that `KbIndex.build` takes and
writes it to the database for the migration.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

SEED_FILE = Path(__file__).with_name("kb.json")


@cache
def _load_cached() -> str:
    return SEED_FILE.read_text(encoding="utf-8")


def load_seed() -> dict[str, Any]:
    """Return the nested seed data (a fresh copy)."""
    return json.loads(_load_cached())


def _keyword(raw: list[Any], *, intent: str | None, entry: str | None) -> dict[str, Any]:
    word, weight, *rest = raw
    kind = rest[0] if rest else "boost"
    return {"word": word, "weight": float(weight), "kind": kind, "intent": intent, "entry": entry}


def seed_snapshot() -> dict[str, Any]:
    """Return the seed in `KbIndex.build` snapshot format, without a database."""
    data = load_seed()
    keywords: list[dict[str, Any]] = []
    for intent in data["intents"]:
        keywords += [
            _keyword(k, intent=intent["id"], entry=None) for k in intent.get("keywords", [])
        ]
    for entry in data["entries"]:
        keywords += [
            _keyword(k, intent=None, entry=entry["key"]) for k in entry.get("keywords", [])
        ]
    return {
        "intents": [
            {"id": i["id"], "name": i["name"], "description": i["description"]}
            for i in data["intents"]
        ],
        "entries": [
            {
                "key": e["key"],
                "intent": e["intent"],
                "question": e["question"],
                "paraphrases": e["paraphrases"],
                "answer": e["answer"],
                "quick_replies": e["quick_replies"],
                "priority": e.get("priority", 0),
                "active": True,
            }
            for e in data["entries"]
        ],
        "keywords": keywords,
        "synonyms": data["synonyms"],
        "domain_words": [{"word": w, "freq": None} for w in data["domain_words"]],
        "replies": data["replies"],
    }


def seed_domain_words() -> list[tuple[str, int | None]]:
    """Return the seed's jieba user words, for `AppConfig.ready()`."""
    return [(w, None) for w in load_seed()["domain_words"]]


def seed_apply(apps: Any) -> None:
    """Write the seed with the migration's historical models (idempotent)."""
    intent_model = apps.get_model("nlu", "Intent")
    entry_model = apps.get_model("nlu", "FaqEntry")
    keyword_model = apps.get_model("nlu", "Keyword")
    synonym_model = apps.get_model("nlu", "SynonymGroup")
    word_model = apps.get_model("nlu", "DomainWord")
    reply_model = apps.get_model("nlu", "ReplyTemplate")
    data = load_seed()

    for raw in data["intents"]:
        intent, created = intent_model.objects.update_or_create(
            id=raw["id"], defaults={"name": raw["name"], "description": raw["description"]}
        )
        if created:
            keyword_model.objects.bulk_create(
                keyword_model(**_model_kw(k), intent=intent) for k in raw.get("keywords", [])
            )
    for raw in data["entries"]:
        entry, created = entry_model.objects.get_or_create(
            key=raw["key"],
            defaults={
                "intent_id": raw["intent"],
                "question": raw["question"],
                "paraphrases": "\n".join(raw["paraphrases"]),
                "answer": raw["answer"],
                "quick_replies": "\n".join(raw["quick_replies"]),
                "priority": raw.get("priority", 0),
            },
        )
        if created:
            keyword_model.objects.bulk_create(
                keyword_model(**_model_kw(k), entry=entry) for k in raw.get("keywords", [])
            )
    for raw in data["synonyms"]:
        synonym_model.objects.get_or_create(
            canonical=raw["canonical"], defaults={"variants": "\n".join(raw["variants"])}
        )
    for word in data["domain_words"]:
        word_model.objects.get_or_create(word=word)
    for key, text in data["replies"].items():
        reply_model.objects.get_or_create(key=key, defaults={"text": text})
    # Running processes must not keep an index compiled before the seed.
    from django.core.cache import cache

    cache.delete("nlu:kb_version")


def _model_kw(raw: list[Any]) -> dict[str, Any]:
    word, weight, *rest = raw
    return {"word": word, "weight": float(weight), "kind": rest[0] if rest else "boost"}
