"""Invoice snapshots for the help desk and the re-verify hook, down to the admin button."""

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.urls import reverse

from bot.helpdesk.invoices import (
    diagnosis_category,
    invoice_snapshot,
    snapshot_fields,
    ticket_invoices_reverify,
)
from bot.invoices.models import InvoiceWatch, VerificationRecord
from bot.invoices.services import invoice_check
from tests.bot.invoices.verify_support import (
    digital_fields,
    ledger_row,
    ordinary_fields,
    special_fields,
)
from tickets import services
from tickets.models import AgentProfile, Queue, TicketMessage

pytestmark = pytest.mark.django_db


def snapshot_of(fields, follower=None):
    outcome = invoice_check(follower_id=follower.pk if follower else None, fields=fields)
    return invoice_snapshot(
        fields=fields,
        result=outcome.result.value,
        reply=outcome.reply,
        diagnosis=outcome.diagnosis.value,
    )


def ticket_with(snapshots, openid="o-invoice"):
    return services.ticket_escalate(
        requester_ref=openid,
        category="invoice_not_found",
        reason="diagnosis",
        text="查不到",
        invoices=snapshots,
        announce=False,
    ).ticket


@pytest.mark.parametrize("make", [ordinary_fields, special_fields, digital_fields])
def test_a_snapshot_gives_back_the_fields_a_check_needs(make):
    fields = make()
    snapshot = snapshot_of(fields)
    again = snapshot_fields(snapshot)
    assert again.invoice_number == fields.invoice_number
    assert (again.invoice_code or "") == (fields.invoice_code or "")
    assert again.issue_date == fields.issue_date
    assert again.amount == fields.amount and (again.check_code or "") == (fields.check_code or "")


def test_reverify_after_upload_reports_the_new_result_and_the_history(follower):
    fields = ordinary_fields()
    ticket = ticket_with([snapshot_of(fields, follower)])
    assert ticket.invoices[0]["result"] == "查无此票"
    ledger_row(fields)
    [fresh] = ticket_invoices_reverify(ticket)
    assert fresh["result"] == "一致" and fresh["number"] == "12345678"
    assert [h["result"] for h in fresh["history"]] == ["查无此票", "一致"]
    record = VerificationRecord.objects.latest("id")
    assert record.source == VerificationRecord.Source.API and record.follower_id is None
    assert not InvoiceWatch.objects.exists()  # re-verifying never starts a watch


def test_reverify_keeps_snapshots_without_a_number():
    ticket = ticket_with([{"result": "?", "note": "纸质发票照片"}])
    assert ticket_invoices_reverify(ticket) == [{"result": "?", "note": "纸质发票照片"}]
    assert not VerificationRecord.objects.exists()


def test_the_hook_is_the_default_setting():
    assert django_settings.TICKETS_INVOICE_REVERIFY == (
        "bot.helpdesk.invoices.ticket_invoices_reverify"
    )


def test_each_diagnosis_a_person_may_act_on_maps_to_an_intent():
    assert diagnosis_category("not_found") == "invoice_not_found"
    assert diagnosis_category("voided") == "void_red_status"
    assert diagnosis_category("mismatch") == "info_mismatch"
    assert diagnosis_category("something_new") == "invoice_not_found"


def test_admin_reverify_button_checks_again_end_to_end(client, follower, settings):
    settings.TICKETS_NOTIFY_BACKEND = "tickets.notify.LocmemBackend"
    fields = ordinary_fields()
    ticket = ticket_with([snapshot_of(fields, follower)])
    agent = get_user_model().objects.create_user("agent-rv", password="pw", is_staff=True)
    AgentProfile.objects.create(user=agent, on_duty=True).queues.set(Queue.objects.all())
    client.force_login(agent)
    page = client.get(reverse("admin:tickets_ticket_change", args=[ticket.pk]))
    assert 'id="tk-reverify"' in page.content.decode()
    ledger_row(fields)
    response = client.post(reverse("admin:tickets_ticket_reverify", args=[ticket.pk]))
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.invoices[0]["result"] == "一致"
    note = ticket.messages.get(author_kind=TicketMessage.AuthorKind.NOTE)
    assert "12345678" in note.text and "一致" in note.text
    page = client.get(reverse("admin:tickets_ticket_change", args=[ticket.pk])).content.decode()
    assert "一致" in page
