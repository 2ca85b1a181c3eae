"""Reads of the knowledge base."""

from __future__ import annotations

from typing import Any

from bot.nlu.models import (
    DomainWord,
    FaqEntry,
    Intent,
    Keyword,
    ReplyTemplate,
    SynonymGroup,
    split_lines,
)


def kb_snapshot() -> dict[str, Any]:
    """Return the whole active KB as plain data for `KbIndex.build` (6 queries)."""
    entries = [
        {
            "key": e.key,
            "intent": e.intent_id,
            "question": e.question,
            "paraphrases": e.paraphrase_list,
            "answer": e.answer,
            "quick_replies": e.quick_reply_list,
            "priority": e.priority,
            "active": e.active,
        }
        for e in FaqEntry.objects.filter(active=True).order_by("pk")
    ]
    keywords = [
        {
            "word": k["word"],
            "weight": k["weight"],
            "kind": k["kind"],
            "intent": k["intent_id"],
            "entry": k["entry__key"],
        }
        for k in Keyword.objects.order_by("pk").values(
            "word", "weight", "kind", "intent_id", "entry__key"
        )
    ]
    return {
        "intents": list(Intent.objects.order_by("id").values("id", "name", "description")),
        "entries": entries,
        "keywords": keywords,
        "synonyms": [
            {"canonical": g.canonical, "variants": split_lines(g.variants)}
            for g in SynonymGroup.objects.order_by("pk")
        ],
        "domain_words": list(DomainWord.objects.order_by("pk").values("word", "freq")),
        "replies": dict(ReplyTemplate.objects.values_list("key", "text")),
    }


# Keywords this long are phrases, which could be a copied message; shorter ones are words.
PHRASE_KEYWORD_CHARS = 6


def kb_texts() -> list[str]:
    """Return the KB's example and answer texts and phrase keywords (for the leak check).

    Platform messages (keywords of kind `message`) are left out: they are the
    platforms' own wording, which users quote verbatim by design, not examples.
    """
    texts: list[str] = []
    for e in FaqEntry.objects.all():
        texts += [e.question, e.answer, *e.paraphrase_list]
    texts += [
        w
        for w in Keyword.objects.exclude(kind=Keyword.Kind.MESSAGE).values_list("word", flat=True)
        if len(w) >= PHRASE_KEYWORD_CHARS and not w.startswith("re:")
    ]
    return texts
