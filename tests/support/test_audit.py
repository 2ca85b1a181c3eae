"""The audit trail through the admin URLs: every edit recorded field by field, by whom;
readable by supervisors, editable by nobody; ticket events and checks on the same page."""

from __future__ import annotations

from decimal import Decimal
from html.parser import HTMLParser
from urllib.parse import urlencode

import pytest
from auditlog.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from knox.models import AuthToken

from bot.invoices.models import LedgerInvoice, VerificationRecord
from bot.nlu.models import FaqEntry
from support.roles import Role
from tickets.models import CannedResponse, Queue, Ticket, TicketEvent

pytestmark = pytest.mark.django_db


class _Form(HTMLParser):
    """The fields of the admin's change form, as a browser would submit them."""

    def __init__(self):
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self._select: str | None = None
        self._textarea: str | None = None
        self._in_form = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and a.get("method", "").lower() == "post":
            self._in_form = True
        if not self._in_form:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in ("submit", "button", "file", "image", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            default = "on" if kind in ("checkbox", "radio") else ""
            self.data.setdefault(name, []).append(a.get("value", default))
        elif tag == "select" and name:
            self._select = name
            self.data.setdefault(name, [])
        elif tag == "option" and self._select and "selected" in a:
            self.data[self._select].append(a.get("value", ""))
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = [""]

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self._in_form = False

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea][-1] += data


def admin_edit(client, url: str, changes: dict[str, str]):
    """GET the admin change page, change some fields, POST it back; return the response."""
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    form = _Form()
    form.feed(page.content.decode())
    data = {name: values if len(values) != 1 else values[0] for name, values in form.data.items()}
    for textarea_value in ("answer", "text"):  # Django renders a leading newline in textareas
        if isinstance(data.get(textarea_value), str):
            data[textarea_value] = data[textarea_value].removeprefix("\n")
    data.update(changes)
    data["_save"] = "保存"
    response = client.post(url, data)
    if response.status_code == 200 and response.context and "adminform" in response.context:
        errors = [response.context["adminform"].form.errors]
        errors += [f.formset.errors for f in response.context.get("inline_admin_formsets", [])]
        raise AssertionError(f"the admin form was refused: {errors}")
    return response


@pytest.fixture
def superuser(client):
    user = get_user_model().objects.create_superuser("audit-admin", password="pw-audit-123")
    client.force_login(user)
    return user


@pytest.fixture
def supervisor_client(client):
    user = get_user_model().objects.create_user("audit-boss", password="pw-1", is_staff=True)
    user.groups.add(Group.objects.get(name=Role.SUPERVISOR))
    other = client.__class__()
    other.force_login(user)
    return other


def _entries(obj):
    return LogEntry.objects.get_for_object(obj).order_by("timestamp", "id")


def _update_of(obj) -> LogEntry:
    return _entries(obj).filter(action=LogEntry.Action.UPDATE).get()


def test_an_admin_edit_of_an_faq_answer_is_recorded_field_by_field(client, superuser):
    entry = FaqEntry.objects.filter(active=True).order_by("pk").first()
    old = entry.answer
    response = admin_edit(
        client,
        f"/admin/nlu/faqentry/{entry.pk}/change/",
        {"answer": "新的答案：请先核对开票日期。"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    log = _update_of(entry)
    assert log.actor == superuser
    assert log.changes_dict["answer"] == [old, "新的答案：请先核对开票日期。"]
    assert "question" not in log.changes_dict  # only what changed


def test_an_admin_edit_of_a_canned_response_is_recorded(client, superuser):
    canned = CannedResponse.objects.create(
        title="催办", text="您好，工单 {ticket_number} 正在处理。"
    )
    response = admin_edit(
        client,
        f"/admin/tickets/cannedresponse/{canned.pk}/change/",
        {"text": "您好，工单 {ticket_number} 已加急。", "title": "加急"},
    )
    assert response.status_code == 302
    log = _update_of(canned)
    assert log.actor == superuser
    assert log.changes_dict["text"][1] == "您好，工单 {ticket_number} 已加急。"
    assert log.changes_dict["title"] == ["催办", "加急"]
    assert _entries(canned).first().action == LogEntry.Action.CREATE  # made outside admin: no actor
    assert _entries(canned).first().actor is None


def test_an_admin_edit_of_a_ledger_row_is_recorded(client, superuser):
    invoice = LedgerInvoice.objects.create(
        invoice_code="011002400211",
        invoice_number="12345678",
        issue_date=timezone.localdate(),
        amount=Decimal("1000.00"),
        total=Decimal("1060.00"),
        check_code="12345678901234567890",
        seller_name="北京甲商贸",
    )
    response = admin_edit(
        client,
        f"/admin/invoices/ledgerinvoice/{invoice.pk}/change/",
        {"status": LedgerInvoice.Status.VOIDED, "total": "1070.00"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    log = _update_of(invoice)
    assert log.actor == superuser
    assert log.changes_dict["status"] == ["valid", "voided"]
    assert log.changes_dict["total"] == ["1060.00", "1070.00"]


def test_a_csv_import_records_each_row_created_and_each_field_it_changed(tmp_path):
    """bulk_create sends no signals: the import records its rows itself (support/audit/bulk.py)."""
    from django.core.management import call_command

    header = "invoice_code,invoice_number,issue_date,amount,total,status\n"
    first = tmp_path / "first.csv"
    first.write_text(
        header + "011002400211,10000001,2024-06-01,100.00,106.00,valid\n"
        "011002400211,10000002,2024-06-01,200.00,212.00,valid\n",
        encoding="utf-8",
    )
    call_command("import_invoices", str(first), "--no-progress")
    one, two = LedgerInvoice.objects.order_by("invoice_number")
    assert [e.action for e in _entries(one)] == [LogEntry.Action.CREATE]
    assert _entries(two).get().changes_dict["total"][1] == "212.00"
    assert _entries(two).get().additional_data == {"bulk": "ledger_batch_upsert"}

    again = tmp_path / "again.csv"  # the first row unchanged, the second voided
    again.write_text(
        header + "011002400211,10000001,2024-06-01,100.00,106.00,valid\n"
        "011002400211,10000002,2024-06-01,200.00,212.00,voided\n",
        encoding="utf-8",
    )
    call_command("import_invoices", str(again), "--no-progress")
    assert _entries(one).count() == 1  # written again unchanged: no entry
    assert _update_of(two).changes_dict["status"] == ["valid", "voided"]


def test_marking_invoices_uploaded_in_admin_is_recorded_with_the_actor(client, superuser):
    invoice = LedgerInvoice.objects.create(
        invoice_code="011002400211",
        invoice_number="10000003",
        issue_date=timezone.localdate(),
        amount=Decimal("1.00"),
        total=Decimal("1.06"),
    )
    response = client.post(
        "/admin/invoices/ledgerinvoice/",
        {"action": "mark_uploaded", "_selected_action": [invoice.pk]},
    )
    assert response.status_code == 302
    invoice.refresh_from_db()
    assert invoice.uploaded_at is not None
    log = _update_of(invoice)
    assert log.actor == superuser and log.changes_dict["uploaded_at"][0] == "None"


def test_deletes_users_groups_and_permissions_are_recorded(client, superuser):
    user = get_user_model().objects.create_user("temp-agent", password="pw-old-1")
    group = Group.objects.get(name=Role.AGENT)
    user.groups.add(group)
    user.set_password("pw-new-2")
    user.save()
    response = client.post(f"/admin/auth/user/{user.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    actions = list(_entries(user).values_list("action", flat=True))
    assert actions[0] == LogEntry.Action.CREATE and actions[-1] == LogEntry.Action.DELETE
    m2m = _entries(user).filter(changes__icontains="groups").first()
    assert m2m is not None and group.name in str(m2m.changes)
    password_change = [e for e in _entries(user) if "password" in (e.changes_dict or {})]
    assert password_change and "pw-new-2" not in str(password_change[0].changes)
    assert "*" in str(password_change[0].changes_dict["password"])  # masked, even the hash
    assert LogEntry.objects.filter(action=LogEntry.Action.DELETE, actor=superuser).exists()


def test_an_api_change_names_the_token_user(client):
    user = get_user_model().objects.create_superuser("api-boss", password="pw-api-1")
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {AuthToken.objects.create(user=user)[1]}"
    body = {
        "invoice_code": "011002400211",
        "invoice_number": "87654321",
        "issue_date": "2024-06-01",
        "amount": "10.00",
        "total": "10.60",
        "seller_name": "乙公司",
    }
    response = client.post("/api/invoices/ledger/", body, content_type="application/json")
    assert response.status_code == 201
    invoice = LedgerInvoice.objects.get(invoice_number="87654321")
    assert _entries(invoice).get().actor == user


def test_supervisors_read_the_trail_with_filters_and_nobody_edits_it(
    client, superuser, supervisor_client
):
    canned = CannedResponse.objects.create(title="t1", text="x")
    admin_edit(client, f"/admin/tickets/cannedresponse/{canned.pk}/change/", {"title": "t2"})
    log = _update_of(canned)
    ct = ContentType.objects.get_for_model(CannedResponse)
    changelist = "/admin/auditlog/logentry/"
    midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    today = urlencode({"timestamp__gte": midnight.isoformat()})
    for query in (
        f"?resource_type={ct.pk}",
        f"?actor__id__exact={superuser.pk}",
        f"?{today}",
    ):
        page = supervisor_client.get(changelist + query)
        assert page.status_code == 200, query
        assert f"/admin/auditlog/logentry/{log.pk}/change/" in page.content.decode()
    detail = supervisor_client.get(f"/admin/auditlog/logentry/{log.pk}/change/")
    assert detail.status_code == 200
    assert 'type="submit"' not in detail.content.decode().split('id="content-main"')[1]
    for who in (supervisor_client, client):  # a superuser cannot edit it either
        assert who.post(f"/admin/auditlog/logentry/{log.pk}/change/", {}).status_code == 403
        assert (
            who.post(f"/admin/auditlog/logentry/{log.pk}/delete/", {"post": "yes"}).status_code
            == 403
        )
        assert who.get("/admin/auditlog/logentry/add/").status_code == 403
    assert LogEntry.objects.filter(pk=log.pk).exists()


def test_agents_cannot_read_the_trail(client):
    agent = get_user_model().objects.create_user("audit-agent", password="pw-2", is_staff=True)
    agent.groups.add(Group.objects.get(name=Role.AGENT))
    client.force_login(agent)
    assert client.get("/admin/auditlog/logentry/").status_code == 403
    assert client.get("/admin/auditlog/logentry/trail/").status_code == 403


def test_the_combined_page_shows_log_entries_ticket_events_and_checks(
    client, superuser, supervisor_client
):
    canned = CannedResponse.objects.create(title="合并页", text="x")
    admin_edit(client, f"/admin/tickets/cannedresponse/{canned.pk}/change/", {"title": "合并页2"})
    now = timezone.now()
    ticket = Ticket.objects.create(
        number="T-AUDIT-1",
        requester_ref="o-audit",
        queue=Queue.objects.first(),
        subject="查无此票",
        created_at=now,
        updated_at=now,
    )
    TicketEvent.objects.create(
        ticket=ticket,
        actor=superuser,
        action=TicketEvent.Action.STATUS,
        from_value="new",
        to_value="open",
        at=now,
    )
    VerificationRecord.objects.create(
        invoice_number="12345678", invoice_code="011002400211", result="not_found", backend="ledger"
    )
    page = supervisor_client.get("/admin/auditlog/logentry/trail/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "合并页2" in html and "T-AUDIT-1" in html and "查验记录" in html and "工单记录" in html
    only_tickets = supervisor_client.get(
        "/admin/auditlog/logentry/trail/?model=tickets.ticketevent"
    )
    assert "T-AUDIT-1" in only_tickets.content.decode()
    assert "合并页2" not in only_tickets.content.decode()
    by_user = supervisor_client.get(f"/admin/auditlog/logentry/trail/?user={superuser.pk}")
    text = by_user.content.decode()
    assert "T-AUDIT-1" in text and "合并页2" in text and "查验记录" not in text.split("<tbody>")[1]
    tomorrow = (timezone.localdate() + timezone.timedelta(days=1)).isoformat()
    later = supervisor_client.get(f"/admin/auditlog/logentry/trail/?since={tomorrow}")
    assert "没有记录" in later.content.decode()
