"""Load the labelled extraction sentences shared by the tests and the benchmark."""

import json
from pathlib import Path

DATA_DIR = Path(__file__).parent / "data"
FIELDS = (
    "invoice_code",
    "invoice_number",
    "issue_date",
    "amount",
    "amount_kind",
    "check_code",
    "seller_tax_id",
    "kind",
    "region",
)


def extraction_cases(pattern: str = "extraction_cases*.jsonl") -> list[dict]:
    """Return every case with all fields present (None where the sentence has none)."""
    cases = []
    lines = []
    for path in sorted(DATA_DIR.glob(pattern)):
        lines += path.read_text(encoding="utf-8").splitlines()
    for line in lines:
        if line.strip():
            case = json.loads(line)
            cases.append({"text": case["text"], **{f: case.get(f) for f in FIELDS}})
    return cases
