"""The 数据看板 in headless Chromium at 1440 px, on a month of demo traffic.

The screenshot goes to $REPORTS_SCREENSHOT_DIR when set (bench/reports/README.md shows
the one taken for the docs), else to the test's temporary directory.
"""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.utils import timezone

from bot.notices.models import Incident
from bot.reports import services
from support.roles import Role
from tests.conftest import needs_chromium

pytestmark = [
    pytest.mark.browser,
    needs_chromium,
    # A live server needs committed rows; the migrations' rows (KB, queues, roles) come back.
    pytest.mark.django_db(transaction=True),
    # Transactional tests start from a flushed database: the seeded data is put back.
    pytest.mark.usefixtures("seeded_data"),
]


@pytest.fixture
def month_of_traffic(django_user_model):
    from bench.reports.seed_traffic import seed

    call_command("seed_demo", tickets=600, days=30, verbosity=0)
    seed(days=30, deflected=2.5)
    services.reports_refresh(days=31)  # what the beat task keeps; today stays live
    now = timezone.now()
    Incident.objects.create(
        title="北京地区查验平台响应缓慢",
        region="北京",
        status=Incident.Status.RESOLVED,
        confirmed_at=now - timedelta(days=9),
        resolved_at=now - timedelta(days=7),
    )
    user = django_user_model.objects.create_user(
        "boss-ui", password="pw-boss-ui-123", is_staff=True
    )
    user.groups.add(Group.objects.get(name=Role.SUPERVISOR))
    return user


@pytest.fixture
def page(live_server, chromium_page):
    page = chromium_page(viewport={"width": 1440, "height": 900})
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    yield page
    outside = [u for u in requests if not u.startswith(live_server.url)]
    assert outside == [], f"the dashboard loaded something from elsewhere: {outside}"


def _screenshot_dir(tmp_path) -> Path:
    where = Path(os.environ.get("REPORTS_SCREENSHOT_DIR") or tmp_path)
    where.mkdir(parents=True, exist_ok=True)
    return where


def test_the_dashboard_at_1440_px(month_of_traffic, page, live_server, tmp_path):
    expect = pytest.importorskip("playwright.sync_api").expect
    page.goto(f"{live_server.url}/admin/login/?next=/admin/reports/")
    page.fill("#id_username", "boss-ui")
    page.fill("#id_password", "pw-boss-ui-123")
    page.click("input[type=submit]")
    expect(page.locator("#rp-cards")).to_be_visible()
    conversations = int(page.locator('[data-figure="conversations"]').inner_text())
    assert conversations > 1000
    # Chart.js drew every chart (from this app's static files).
    assert page.evaluate("typeof Chart") == "function"
    drawn = page.evaluate(
        "Array.from(document.querySelectorAll('canvas')).filter(c => Chart.getChart(c)).length"
    )
    assert drawn == page.locator("canvas").count() == 12
    widths = page.evaluate(
        "Array.from(document.querySelectorAll('.rp-panel'))"
        ".map(p => p.getBoundingClientRect().width)"
    )
    assert min(widths) > 600  # two charts a row at 1440 px, each readable
    expect(page.locator("#rp-incidents")).to_contain_text("北京地区查验平台响应缓慢")
    expect(page.locator("#rp-ratings")).to_contain_text("%")
    shot = _screenshot_dir(tmp_path) / "dashboard-1440.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")

    # A figure drills down to the conversations behind it.
    page.click("#rp-cards a:has-text('转人工')")
    expect(page.locator("#rp-drill")).to_be_visible()
    rows = page.locator("#rp-drill tbody tr").count()
    assert rows > 100
    page.locator("#rp-drill tbody tr").first.locator("a").click()
    expect(page.locator("#rp-conversation")).to_contain_text("转人工")
    page.go_back()
    page.go_back()

    # A bar of the hour chart drills down to that hour's messages.
    page.locator("#rp-chart-hours").scroll_into_view_if_needed()
    box = page.locator("#rp-chart-hours").bounding_box()
    bar = page.evaluate(
        "(() => { const b = Chart.getChart(document.getElementById('rp-chart-hours'))"
        ".getDatasetMeta(0).data[10]; return {x: b.x, y: (b.y + b.base) / 2}; })()"
    )
    page.mouse.click(box["x"] + bar["x"], box["y"] + bar["y"])
    expect(page.locator("#rp-drill")).to_be_visible()
    assert "时段的消息：10时" in page.title()
    page.go_back()

    # The unanswered questions, grouped.
    page.click("#rp-unanswered")
    expect(page.locator("#rp-clusters")).to_contain_text("备注")
    page.screenshot(path=str(_screenshot_dir(tmp_path) / "unanswered-1440.png"), full_page=True)
