"""The NLU's enums against the intent catalogue and the seed knowledge base."""

import re
from pathlib import Path

from bot.nlu import matcher
from bot.nlu.seed import load_seed
from bot.nlu.services import reply
from bot.nlu.vocabulary import Intent, NluAction

# The in-repo copy of ../shared/nlu/intents.md: the project must stand alone.
CATALOGUE = Path(__file__).resolve().parent / "data" / "intents.md"
# A row of the catalogue's table: "| `intent_id` | the user wants … | typical words |".
_ROW_RE = re.compile(r"^\|\s*`([a-z_]+)`\s*\|", flags=re.MULTILINE)


def catalogue_ids(path: Path) -> list[str]:
    """Return the intent ids of a catalogue file's table, in file order."""
    return _ROW_RE.findall(path.read_text(encoding="utf-8"))


def enum_mismatch(ids: list[str]) -> dict[str, list[str]]:
    """Return what the catalogue and the enum disagree on (empty: they agree)."""
    values = [m.value for m in Intent]
    return {
        key: wrong
        for key, wrong in {
            "in the catalogue, not in Intent": sorted(set(ids) - set(values)),
            "in Intent, not in the catalogue": sorted(set(values) - set(ids)),
            "listed twice in the catalogue": sorted({i for i in ids if ids.count(i) > 1}),
        }.items()
        if wrong
    }


def test_intent_enum_is_exactly_the_catalogue():
    ids = catalogue_ids(CATALOGUE)
    assert len(ids) >= 20  # the parser found the table, not a stray line
    assert Intent.OOS in ids
    assert enum_mismatch(ids) == {}


def test_a_catalogue_intent_missing_from_the_enum_is_caught(tmp_path):
    grown = tmp_path / "intents.md"
    text = CATALOGUE.read_text(encoding="utf-8")
    row = "| `oos` |"
    assert row in text
    grown.write_text(
        text.replace(row, "| `tax_refund` | asks about a tax refund | 退税 |\n" + row),
        encoding="utf-8",
    )
    assert enum_mismatch(catalogue_ids(grown)) == {
        "in the catalogue, not in Intent": ["tax_refund"]
    }


def test_every_intent_of_the_seed_kb_is_an_enum_member():
    seed = load_seed()
    used = {i["id"] for i in seed["intents"]} | {e["intent"] for e in seed["entries"]}
    assert used  # the seed was read
    assert sorted(used - {m.value for m in Intent}) == []


def test_members_equal_their_strings():
    # Bare strings in stored rows, cache entries and other apps keep working.
    assert Intent.VERIFY_INVOICE == "verify_invoice"
    assert {"verify_invoice": 1}[Intent.VERIFY_INVOICE] == 1
    assert f"{NluAction.OFFER_HUMAN}" == "offer_human"
    assert [m.value for m in NluAction] == ["answer", "clarify", "oos", "offer_human", "empty"]


def test_old_constant_names_are_aliases_of_the_members():
    # bot.dialog still imports these; the lead switches it to the enums.
    assert matcher.ANSWER is NluAction.ANSWER
    assert matcher.CLARIFY is NluAction.CLARIFY
    assert matcher.OUT_OF_SCOPE is NluAction.OUT_OF_SCOPE
    assert matcher.OOS is Intent.OOS
    assert reply.OFFER_HUMAN is NluAction.OFFER_HUMAN
    assert reply.EMPTY is NluAction.EMPTY
    from bot.nlu.services import EMPTY, OFFER_HUMAN

    assert (OFFER_HUMAN, EMPTY) == (NluAction.OFFER_HUMAN, NluAction.EMPTY)
