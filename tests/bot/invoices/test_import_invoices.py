"""`manage.py import_invoices FILE.csv`: rows in, bad rows reported by line, re-import updates."""

import datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from bot.invoices.models import LedgerInvoice

pytestmark = pytest.mark.django_db

HEADER = (
    "invoice_code,invoice_number,issue_date,amount,total,check_code,seller_name,"
    "seller_tax_id,buyer_name,status,uploaded_at\n"
)
GOOD = [
    "011002400211,12345678,2024-06-01,1000.00,1060.00,12345678901234567890,北京甲商贸,"
    "9144030071526726XG,北京乙科技,valid,2024-06-01T10:00:00+08:00\n",
    '1100241130,87654321,2024-06-02,"1,000.50",1130.57,,北京甲商贸,,北京丙公司,voided,'
    "2024-06-02 09:30:00\n",
    ",24117000000212341234,2024-06-03,100,106,,北京甲商贸,,,valid,\n",
]


def _run(tmp_path, lines, name="ledger.csv", header=HEADER):
    path = tmp_path / name
    path.write_text(header + "".join(lines), encoding="utf-8")
    out, err = StringIO(), StringIO()
    call_command("import_invoices", str(path), "--no-progress", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_import_creates_rows(tmp_path):
    out, err = _run(tmp_path, GOOD)
    assert "created 3, updated 0, rejected 0" in out
    assert err == ""
    first = LedgerInvoice.objects.get(invoice_number="12345678")
    assert first.invoice_code == "011002400211"
    assert first.total == Decimal("1060.00")
    assert first.uploaded_at.isoformat() == "2024-06-01T02:00:00+00:00"
    second = LedgerInvoice.objects.get(invoice_number="87654321")
    assert second.amount == Decimal("1000.50")
    assert second.status == "voided"
    assert second.uploaded_at is not None  # naive times are read as Asia/Shanghai
    digital = LedgerInvoice.objects.get(invoice_number="24117000000212341234")
    assert digital.invoice_code == ""
    assert digital.uploaded_at is None
    assert digital.issue_date == datetime.date(2024, 6, 3)


def test_reimport_updates_instead_of_duplicating(tmp_path):
    _run(tmp_path, GOOD)
    changed = GOOD[2].replace(",valid,\n", ",red_flushed,2024-06-04T08:00:00+08:00\n")
    out, _ = _run(tmp_path, [GOOD[0], changed], name="again.csv")
    assert "created 0, updated 2, rejected 0" in out
    assert LedgerInvoice.objects.count() == 3
    digital = LedgerInvoice.objects.get(invoice_number="24117000000212341234")
    assert digital.status == "red_flushed"
    assert digital.uploaded_at is not None


def test_bad_rows_are_reported_with_line_numbers_and_the_rest_imported(tmp_path):
    bad = [
        GOOD[0],
        "011002400211,1234,2024-06-01,1,1,,,,,valid,\n",  # line 3: short number
        "011002400211,22223333,2024-13-01,1,1,,,,,valid,\n",  # line 4: no such date
        "011002400211,22223334,2024-06-01,abc,1,,,,,valid,\n",  # line 5: amount
        "011002400211,22223335,2024-06-01,1,1,,,,,lost,\n",  # line 6: status
        "011002400211,22223336,2024-06-01,1,1,,,,,valid,yesterday\n",  # line 7: uploaded_at
        ",22223337,2024-06-01,1,1,,,,,valid,\n",  # line 8: 8 digits without a code
        GOOD[2],
    ]
    out, err = _run(tmp_path, bad)
    assert "created 2, updated 0, rejected 6" in out
    lines = err.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == [f"line {n}" for n in range(3, 9)]
    assert "invoice_number" in lines[0]
    assert "issue_date" in lines[1]
    assert "amount" in lines[2]
    assert "status" in lines[3]
    assert "uploaded_at" in lines[4]


def test_duplicate_rows_in_one_file_keep_the_last(tmp_path):
    voided = GOOD[0].replace(",valid,", ",voided,")
    out, _ = _run(tmp_path, [GOOD[0], voided])
    assert LedgerInvoice.objects.get().status == "voided"
    assert "created 1" in out


def test_small_batches_give_the_same_result(tmp_path):
    path = tmp_path / "ledger.csv"
    path.write_text(HEADER + "".join(GOOD), encoding="utf-8")
    out = StringIO()
    call_command(
        "import_invoices",
        str(path),
        "--batch-size",
        "1",
        "--no-progress",
        stdout=out,
        stderr=StringIO(),
    )
    assert "created 3, updated 0, rejected 0" in out.getvalue()


def test_progress_bar_is_shown(tmp_path):
    path = tmp_path / "ledger.csv"
    path.write_text(HEADER + "".join(GOOD), encoding="utf-8")
    err = StringIO()
    call_command("import_invoices", str(path), stdout=StringIO(), stderr=err)
    assert "3/3" in err.getvalue()


def test_bom_and_missing_columns(tmp_path):
    out, _ = _run(tmp_path, GOOD[:1], header="\ufeff" + HEADER)
    assert "created 1" in out
    with pytest.raises(CommandError, match="missing columns: amount"):
        _run(tmp_path, [], name="bad.csv", header="invoice_code,invoice_number,issue_date\n")


def test_missing_file(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_invoices", str(tmp_path / "nope.csv"))
