"""The Content-Security-Policy in headless Chromium: the staff's pages still work under it.

Each page is opened with a listener for `securitypolicyviolation` installed before any
script runs; a violation (a blocked inline script, a CDN asset, an eval) fails the test.
"""

import pytest
from django.contrib.auth.models import Group

from bot.notices.models import Broadcast
from support.roles import Role
from tests.conftest import needs_chromium

pytestmark = [
    pytest.mark.browser,
    needs_chromium,
    pytest.mark.django_db(transaction=True),
    # Transactional tests start from a flushed database: the seeded data is put back.
    pytest.mark.usefixtures("seeded_data"),
]

LISTEN = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => window.__csp.push(
  e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' @ ' + e.sourceFile + ':' + e.lineNumber
));
"""


@pytest.fixture
def lead(django_user_model):
    user = django_user_model.objects.create_superuser("csp-lead", "c@example.invalid", "pw-csp-123")
    user.groups.add(Group.objects.get_or_create(name=Role.SUPERVISOR)[0])
    return user


@pytest.fixture
def browser_page(chromium_page):
    page = chromium_page(init_script=LISTEN)
    console = []
    page.on(
        "console",
        lambda m: console.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.console_csp = console
    return page


def _violations(page) -> list[str]:
    return page.evaluate("window.__csp") + page.console_csp


def test_no_csp_violation_on_the_staff_pages(lead, browser_page, live_server, settings):
    settings.SIMULATOR_ENABLED = True
    sending = Broadcast.objects.create(text="维护", audience="all", status="sending")
    page = browser_page
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    header = page.evaluate(
        "fetch(location.href).then(r => r.headers.get('content-security-policy'))"
    )
    directives = dict(d.strip().split(" ", 1) for d in header.split(";"))
    assert directives["script-src"].split()[0] == "'self'"  # plus a nonce where one is used
    assert "unsafe" not in directives["script-src"] and directives["object-src"] == "'none'"
    page.fill("#id_username", "csp-lead")
    page.fill("#id_password", "pw-csp-123")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    seen = {}
    for path, ready in [
        ("/admin/", "#content-main"),
        ("/admin/notices/broadcast/add/", "#broadcast_form"),
        # A sending broadcast's page reloads itself: its inline script carries the nonce.
        (f"/admin/notices/broadcast/{sending.pk}/change/", "#broadcast_form"),
        ("/admin/tickets/ticket/", "#changelist"),
        ("/api/docs/", ".swagger-ui .info"),  # Swagger UI drew the schema: its JS ran
        ("/simulator/", "body"),
        ("/admin/reports/", "#rp-cards"),
    ]:
        page.goto(f"{live_server.url}{path}")
        page.wait_for_selector(ready)
        page.wait_for_load_state("networkidle")
        seen[path] = _violations(page)
    assert seen == {path: [] for path in seen}, seen
    # The dashboard's Chart.js (from static files) still draws.
    assert page.evaluate("typeof Chart") == "function"
    # The listener works: an injected inline script without the nonce is reported.
    page.evaluate(
        "s = document.createElement('script'); s.textContent = '1'; document.body.appendChild(s)"
    )
    page.wait_for_timeout(200)
    assert any("script-src" in v for v in _violations(page))
