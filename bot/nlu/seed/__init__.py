"""The seed knowledge base (`kb.json`), loaded by the data migrations.

`kb.json` nests keywords under their intent or entry for readability; this
module flattens it into the snapshot format that `KbIndex.build` takes and
writes it to the database for the migration.

Migrations never read `kb.json` itself, whose content moves on: `0002_seed`
loads the frozen first seed (`history/kb_0002.json`), and each later change of
the seed is a frozen delta (`history/delta_NNNN.json`, made by
`seed_delta(old, new)`) applied by its own migration. A delta adds new entries,
keywords, synonyms and domain words, and changes an answer or removes a keyword,
paraphrase or synonym variant only where the row still holds the old seed's value, so what
support staff edited (or deleted on purpose) stays as they left it. A fresh
database therefore ends up with exactly `kb.json` (a test checks it), an existing
one with `kb.json` plus its operators' edits.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

SEED_FILE = Path(__file__).with_name("kb.json")
HISTORY_DIR = Path(__file__).with_name("history")


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


def load_history(name: str) -> dict[str, Any]:
    """Return a frozen seed or delta (`history/<name>.json`), the data of one migration."""
    return json.loads((HISTORY_DIR / f"{name}.json").read_text(encoding="utf-8"))


def seed_apply(apps: Any, data: dict[str, Any] | None = None) -> None:
    """Write a seed (default: kb.json) with the migration's historical models (idempotent)."""
    intent_model = apps.get_model("nlu", "Intent")
    entry_model = apps.get_model("nlu", "FaqEntry")
    keyword_model = apps.get_model("nlu", "Keyword")
    synonym_model = apps.get_model("nlu", "SynonymGroup")
    word_model = apps.get_model("nlu", "DomainWord")
    reply_model = apps.get_model("nlu", "ReplyTemplate")
    data = load_seed() if data is None else data

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


# -- deltas between two versions of the seed -------------------------------------


def _kw_key(raw: list[Any]) -> tuple[str, float, str]:
    word, weight, *rest = raw
    return (word, float(weight), rest[0] if rest else "boost")


def _kw_diff(old: list[list[Any]], new: list[list[Any]]) -> dict[str, list[list[Any]]]:
    old_keys = [_kw_key(k) for k in old]
    new_keys = [_kw_key(k) for k in new]
    diff = {
        "keywords_remove": [list(k) for k in old_keys if k not in new_keys],
        "keywords_add": [list(k) for k in new_keys if k not in old_keys],
    }
    return {name: rows for name, rows in diff.items() if rows}


def seed_delta(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Return what changed from one nested seed (kb.json data) to another."""
    delta: dict[str, Any] = {"intents": {}, "entries_add": [], "entries_change": {}}
    old_intents = {i["id"]: i for i in old["intents"]}
    for intent in new["intents"]:
        before = old_intents.get(intent["id"])
        if before is None:
            delta.setdefault("intents_add", []).append(intent)
            continue
        diff = _kw_diff(before.get("keywords", []), intent.get("keywords", []))
        if diff:
            delta["intents"][intent["id"]] = diff
    old_entries = {e["key"]: e for e in old["entries"]}
    for entry in new["entries"]:
        before = old_entries.get(entry["key"])
        if before is None:
            delta["entries_add"].append(entry)
            continue
        change: dict[str, Any] = _kw_diff(before.get("keywords", []), entry.get("keywords", []))
        added = [p for p in entry["paraphrases"] if p not in before["paraphrases"]]
        removed = [p for p in before["paraphrases"] if p not in entry["paraphrases"]]
        if added:
            change["paraphrases_add"] = added
        if removed:
            change["paraphrases_remove"] = removed
        for name in ("answer", "question"):
            if entry[name] != before[name]:
                change[name] = [before[name], entry[name]]
        if change:
            delta["entries_change"][entry["key"]] = change
    old_groups = {g["canonical"]: g for g in old["synonyms"]}
    delta["synonyms_add"] = [g for g in new["synonyms"] if g["canonical"] not in old_groups]
    delta["synonym_variants_add"] = {
        g["canonical"]: [
            v for v in g["variants"] if v not in old_groups[g["canonical"]]["variants"]
        ]
        for g in new["synonyms"]
        if g["canonical"] in old_groups
        and any(v not in old_groups[g["canonical"]]["variants"] for v in g["variants"])
    }
    new_groups = {g["canonical"]: g for g in new["synonyms"]}
    removed = {
        canonical: [v for v in group["variants"] if v not in new_groups[canonical]["variants"]]
        for canonical, group in old_groups.items()
        if canonical in new_groups
        and any(v not in new_groups[canonical]["variants"] for v in group["variants"])
    }
    if removed:  # a variant that damaged other words (void in avoid)
        delta["synonym_variants_remove"] = removed
    delta["domain_words_add"] = [w for w in new["domain_words"] if w not in old["domain_words"]]
    delta["replies_add"] = {k: v for k, v in new["replies"].items() if k not in old["replies"]}
    return delta


def _variants_edit(synonym_model: Any, canonical: str, edit: Any) -> None:
    """Rewrite a synonym group's variant lines with `edit` (missing groups are skipped:
    an operator deleted them)."""
    group = synonym_model.objects.filter(canonical=canonical).first()
    if group is None:
        return
    lines = [line for line in group.variants.splitlines() if line.strip()]
    edited = edit(lines)
    if edited != lines:
        group.variants = "\n".join(edited)
        group.save(update_fields=["variants"])


def _keywords_apply(keyword_model: Any, changes: dict[str, Any], **target: Any) -> None:
    for raw in changes.get("keywords_remove", []):
        word, weight, kind = _kw_key(raw)
        keyword_model.objects.filter(word=word, weight=weight, kind=kind, **target).delete()
    for raw in changes.get("keywords_add", []):
        fields = _model_kw(raw)
        if not keyword_model.objects.filter(
            word=fields["word"], kind=fields["kind"], **target
        ).exists():
            keyword_model.objects.create(**fields, **target)


def seed_delta_apply(apps: Any, delta: dict[str, Any]) -> None:
    """Bring an existing KB up to a later seed without undoing operators' edits (idempotent)."""
    intent_model = apps.get_model("nlu", "Intent")
    entry_model = apps.get_model("nlu", "FaqEntry")
    keyword_model = apps.get_model("nlu", "Keyword")
    synonym_model = apps.get_model("nlu", "SynonymGroup")
    word_model = apps.get_model("nlu", "DomainWord")
    reply_model = apps.get_model("nlu", "ReplyTemplate")

    for raw in delta.get("intents_add", []):
        intent, created = intent_model.objects.get_or_create(
            id=raw["id"], defaults={"name": raw["name"], "description": raw["description"]}
        )
        if created:
            _keywords_apply(keyword_model, {"keywords_add": raw.get("keywords", [])}, intent=intent)
    for intent_id, changes in delta.get("intents", {}).items():
        intent = intent_model.objects.filter(id=intent_id).first()
        if intent is not None:
            _keywords_apply(keyword_model, changes, intent=intent)
    for raw in delta.get("entries_add", []):
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
            _keywords_apply(keyword_model, {"keywords_add": raw.get("keywords", [])}, entry=entry)
    for key, changes in delta.get("entries_change", {}).items():
        entry = entry_model.objects.filter(key=key).first()
        if entry is None:
            continue  # deleted by an operator: stays deleted
        lines = [line for line in entry.paraphrases.splitlines() if line.strip()]
        lines = [
            line for line in lines if line.strip() not in changes.get("paraphrases_remove", [])
        ]
        lines += [p for p in changes.get("paraphrases_add", []) if p not in lines]
        entry.paraphrases = "\n".join(lines)
        for name in ("answer", "question"):
            if name in changes and getattr(entry, name) == changes[name][0]:
                setattr(entry, name, changes[name][1])
        entry.save(update_fields=["paraphrases", "answer", "question"])
        _keywords_apply(keyword_model, changes, entry=entry)
    for raw in delta.get("synonyms_add", []):
        synonym_model.objects.get_or_create(
            canonical=raw["canonical"], defaults={"variants": "\n".join(raw["variants"])}
        )
    for canonical, variants in delta.get("synonym_variants_add", {}).items():
        _variants_edit(
            synonym_model,
            canonical,
            lambda lines, v=variants: [*lines, *(x for x in v if x not in lines)],
        )
    for canonical, variants in delta.get("synonym_variants_remove", {}).items():
        _variants_edit(
            synonym_model, canonical, lambda lines, v=variants: [x for x in lines if x not in v]
        )
    for word in delta.get("domain_words_add", []):
        word_model.objects.get_or_create(word=word)
    for key, text in delta.get("replies_add", {}).items():
        reply_model.objects.get_or_create(key=key, defaults={"text": text})
    from django.core.cache import cache

    cache.delete("nlu:kb_version")
