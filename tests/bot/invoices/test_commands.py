"""invoice_extract and invoice_decode_qr, run the way an operator runs them."""

import io
import json
import random

from django.core.management import call_command

from tests.bot.invoices.photos import PAYLOADS, phone_photo, qr_image

KEYS = ["invoice_code", "invoice_number", "issue_date", "amount", "check_code", "kind", "region"]


def run(*args, stdin: str | None = None) -> list[dict]:
    out = io.StringIO()
    kwargs = {"stdout": out}
    if stdin is not None:
        kwargs["stdin"] = io.StringIO(stdin)
    call_command(*args, **kwargs)
    return [json.loads(line) for line in out.getvalue().splitlines()]


FULL = "发票代码011001900211 号码12345678 2025年5月13日 ¥1,060.00 校验码12345 67890 12345 67890"


def test_extract_writes_one_object_per_line_in_the_issue_format():
    lines = run(
        "invoice_extract",
        stdin=f"{FULL}\n你好\n\n数电票 24117000000212341234 价税合计1060元\n",
    )
    assert len(lines) == 4
    assert lines[0] == {
        "text": FULL,
        "invoice_code": "011001900211",
        "invoice_number": "12345678",
        "issue_date": "2025-05-13",
        "amount": "1060.00",
        "check_code": "567890",
        "kind": "electronic_ordinary",
        "region": "北京",
    }
    assert list(lines[1]) == ["text", *KEYS]
    assert lines[1] == {"text": "你好", **dict.fromkeys(KEYS)}
    assert lines[2] == {"text": "", **dict.fromkeys(KEYS)}
    assert (lines[3]["invoice_number"], lines[3]["kind"], lines[3]["invoice_code"]) == (
        "24117000000212341234",
        "digital",
        None,
    )


def test_decode_qr_reads_photos_and_explains_the_rest(tmp_path):
    good = tmp_path / "good.jpg"
    good.write_bytes(phone_photo(PAYLOADS[0], random.Random(1)))
    url = tmp_path / "url.png"
    qr_image("https://example.com/").save(url)
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    lines = run("invoice_decode_qr", str(good), str(url), str(text), str(tmp_path / "missing.jpg"))
    assert len(lines) == 4
    assert lines[0] == {
        "invoice_code": "011001605111",
        "invoice_number": "80100798",
        "issue_date": "2016-10-18",
        "amount": "64.90",
        "check_code": "380258",
        "kind": "electronic_ordinary",
        "region": "北京",
        "payload": PAYLOADS[0],
    }
    assert lines[1] == {**dict.fromkeys(KEYS), "payload": "https://example.com/", "reason": "url"}
    assert lines[2] == {**dict.fromkeys(KEYS), "payload": None, "reason": "not_image"}
    assert lines[3]["reason"] == "unreadable_file" and lines[3]["invoice_number"] is None
