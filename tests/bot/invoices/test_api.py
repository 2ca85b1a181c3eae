"""The invoice API through its URLs: verify, extract, ledger writes; staff only."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from bot.invoices.models import LedgerInvoice, VerificationRecord
from tests.bot.invoices.verify_support import CODE_ORDINARY, days_ago, ledger_row, ordinary_fields
from tests.security.people import supervisor_make, token_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    user = supervisor_make("agent-inv")  # ledger writes are the supervisors' (docs/security.md)
    token = token_for(user)
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {token}"
    return client


def _post(client, url, body):
    return client.post(url, body, content_type="application/json")


def test_anonymous_and_non_staff_are_refused(client):
    assert _post(client, "/api/invoices/verify/", {}).status_code in (401, 403)
    user = get_user_model().objects.create_user("taxpayer-inv", password="pw-123456")
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {token_for(user)}"
    response = _post(client, "/api/invoices/extract/", {"text": "x"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_verify_returns_result_and_diagnosis(staff):
    fields = ordinary_fields()
    ledger_row(fields)
    body = {
        "invoice_code": CODE_ORDINARY,
        "invoice_number": "12345678",
        "issue_date": fields.issue_date.isoformat(),
        "check_code": "567890",
    }
    response = _post(staff, "/api/invoices/verify/", body)
    assert response.status_code == 200
    data = response.json()
    assert data["result"] == "valid"
    assert data["diagnosis"] == "valid"
    assert data["kind"] == "electronic_ordinary"
    assert data["region"] == "北京"
    assert data["details"]["seller_name"] == "北京某某商贸有限公司"
    assert "一致" in data["reply"]
    record = VerificationRecord.objects.get(pk=data["record_id"])
    assert record.source == "api"
    assert record.follower is None


def test_verify_diagnoses_a_special_invoice_with_the_total(staff):
    body = {
        "invoice_code": "1100241130",
        "invoice_number": "87654321",
        "issue_date": days_ago(3).isoformat(),
        "amount": "1060.00",
        "amount_kind": "total",
    }
    data = _post(staff, "/api/invoices/verify/", body).json()
    assert data["diagnosis"] == "wrong_amount_kind"
    assert data["result"] == "bad_input"


def test_verify_rejects_bad_input_in_the_error_format(staff):
    response = _post(staff, "/api/invoices/verify/", {"issue_date": "2024-13-01"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {"invoice_number", "issue_date"}


def test_extract_reads_fields_from_text(staff):
    text = "发票代码011002400211 号码12345678 2024年6月1日 校验码后六位567890"
    data = _post(staff, "/api/invoices/extract/", {"text": text}).json()
    assert data["text"] == text
    assert data["invoice_code"] == "011002400211"
    assert data["invoice_number"] == "12345678"
    assert data["issue_date"] == "2024-06-01"
    assert data["check_code"] == "567890"
    assert data["region"] == "北京"
    assert data["rejected_code"] is None


def test_extract_names_a_code_that_does_not_decode(staff):
    data = _post(staff, "/api/invoices/extract/", {"text": "211002400211 12345678"}).json()
    assert (data["invoice_code"], data["rejected_code"]) == (None, "211002400211")


def test_extract_needs_text(staff):
    response = _post(staff, "/api/invoices/extract/", {"text": ""})
    assert response.status_code == 400
    assert "text" in response.json()["error"]["fields"]


LEDGER = {
    "invoice_code": CODE_ORDINARY,
    "invoice_number": "12345678",
    "issue_date": "2024-06-01",
    "amount": "1000.00",
    "total": "1060.00",
    "check_code": "12345678901234567890",
    "seller_name": "北京甲商贸",
    "status": "valid",
    "uploaded_at": None,
}


def test_ledger_post_creates_then_updates(staff):
    response = _post(staff, "/api/invoices/ledger/", LEDGER)
    assert response.status_code == 201
    uploaded = {**LEDGER, "uploaded_at": "2024-06-02T09:00:00+08:00", "status": "voided"}
    response = _post(staff, "/api/invoices/ledger/", uploaded)
    assert response.status_code == 200
    invoice = LedgerInvoice.objects.get()
    assert invoice.status == "voided"
    assert invoice.uploaded_at is not None
    listed = staff.get("/api/invoices/ledger/?number=12345678").json()
    assert [row["id"] for row in listed["results"]] == [invoice.pk]


def test_ledger_put_and_patch(staff):
    created = _post(staff, "/api/invoices/ledger/", LEDGER).json()
    url = f"/api/invoices/ledger/{created['id']}/"
    response = staff.patch(url, {"status": "red_flushed"}, content_type="application/json")
    assert response.status_code == 200
    assert LedgerInvoice.objects.get().status == "red_flushed"
    changed = {**LEDGER, "total": "1070.00"}
    assert staff.put(url, changed, content_type="application/json").status_code == 200
    invoice = LedgerInvoice.objects.get()
    assert invoice.total == Decimal("1070.00")
    assert invoice.status == "valid"


def test_ledger_put_cannot_collide_with_another_row(staff):
    first = _post(staff, "/api/invoices/ledger/", LEDGER).json()
    _post(staff, "/api/invoices/ledger/", {**LEDGER, "invoice_number": "12345679"})
    url = f"/api/invoices/ledger/{first['id']}/"
    response = staff.patch(url, {"invoice_number": "12345679"}, content_type="application/json")
    assert response.status_code == 400
    assert "invoice_number" in response.json()["error"]["fields"]


@pytest.mark.parametrize(
    "change",
    [
        {"invoice_number": "123"},
        {"invoice_code": "", "invoice_number": "12345678"},
        {"invoice_number": "24117000000212341234"},
        {"status": "lost"},
        {"amount": "abc"},
    ],
)
def test_ledger_rejects_invalid_rows(staff, change):
    response = _post(staff, "/api/invoices/ledger/", {**LEDGER, **change})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert not LedgerInvoice.objects.exists()


def test_schema_documents_the_invoice_api(staff):
    response = staff.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    for path in (
        "/api/invoices/verify/",
        "/api/invoices/extract/",
        "/api/invoices/ledger/",
        "/api/invoices/ledger/{id}/",
    ):
        assert path in schema["paths"]
    verify = schema["paths"]["/api/invoices/verify/"]["post"]
    assert verify["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "VerifyInput"
    )
