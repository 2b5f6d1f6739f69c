"""Issue 15 in a real browser at 1440 px: the Today index and the charts page on the demo data, with
screenshots (test-artifacts/cockpit-*.png) a person looks at."""

from pathlib import Path

import pytest

from cockpit.demo import add_cockpit_demo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def test_today_and_charts_read_at_1440_px(live_server, page, walmart_account, amazon_account, django_user_model):
    django_user_model.objects.create_superuser("cockpit-admin", "c@example.com", "cockpit-pass-123")
    add_cockpit_demo(history_per_day=2)
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", "cockpit-admin")
    page.fill("#id_password", "cockpit-pass-123")
    page.click("input[type=submit]")
    page.wait_for_selector("#today")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "cockpit-today.png"), full_page=True)
    table = page.locator("#today")
    assert table.bounding_box()["width"] <= 1440
    overdue = page.locator("#today tfoot td.overdue a")
    assert int(overdue.inner_text()) > 0
    overdue.click()
    page.wait_for_selector("#result_list")
    assert page.locator("#id_to_ship").input_value() == "overdue"
    assert page.locator("#result_list a.channel-order-link").count() == int(page.locator(".paginator").inner_text()
                                                                            .split()[0])

    page.goto(f"{live_server.url}/admin/cockpit/charts/")
    page.wait_for_selector(".cockpit-charts svg")
    page.screenshot(path=str(ARTIFACTS / "cockpit-charts.png"), full_page=True)
    charts = page.locator(".cockpit-charts svg")
    assert charts.count() == 5
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= 1440, "the charts page scrolls sideways at 1440 px"
    assert page.locator(".cockpit-charts polyline").count() >= 2  # a line per account

    page.goto(f"{live_server.url}/admin/cockpit/performance/")
    page.wait_for_selector("table.performance")
    page.screenshot(path=str(ARTIFACTS / "cockpit-performance.png"), full_page=True)
    page.goto(f"{live_server.url}/admin/cockpit/discrepancy/?status=open")
    page.wait_for_selector("#result_list")
    page.screenshot(path=str(ARTIFACTS / "cockpit-needs-attention.png"), full_page=True)
    assert page.locator("#result_list .fix-resync").count() == 6


WORDS_BROKEN = """(selector) => [...document.querySelectorAll(selector)].flatMap(cell => {
    const text = cell.firstChild && cell.innerText ? cell : null;
    if (!text) return [];
    const broken = [];
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
        const node = walker.currentNode;
        for (const match of node.textContent.matchAll(/\\S+/g)) {
            const range = document.createRange();
            range.setStart(node, match.index);
            range.setEnd(node, match.index + match[0].length);
            const lines = new Set([...range.getClientRects()].map(rect => Math.round(rect.top)));
            if (lines.size > 1) broken.push(match[0]);
        }
    }
    return broken;
})"""


def test_today_headings_wrap_between_words_never_inside_one(admin_page, walmart_account, amazon_account):
    """Django's dashboard style breaks words anywhere: "To acknowledge" read "To acknowled / ge"."""
    page = admin_page
    page.go("/admin/")
    page.wait_for_selector("#today")
    assert page.locator("#today thead th", has_text="To acknowledge").count() == 1
    assert page.evaluate(WORDS_BROKEN, "#today th, #today td") == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 1440


def test_seller_performance_tables_line_up_from_one_account_to_the_next(admin_page, walmart_account,
                                                                       amazon_account):
    """The outside tester: each account's table took its own column widths from its own words ("nothing
    to count yet" in one, figures in another), so the windows did not line up down the page. One
    account has history, the other none."""
    from tests.factories import AmazonAccountFactory

    add_cockpit_demo(history_per_day=2)
    AmazonAccountFactory(title="Amazon CA (new)")
    page = admin_page
    page.go("/admin/cockpit/performance/")
    page.wait_for_selector("table.performance")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "cockpit-performance.png"), full_page=True)
    columns = page.evaluate("""() => [...document.querySelectorAll('table.performance')].map(table =>
        [...table.querySelectorAll('thead th')].map(th => {
            const box = th.getBoundingClientRect();
            return [Math.round(box.left), Math.round(box.width)];
        }))""")
    assert len(columns) == 3
    assert all(table == columns[0] for table in columns), columns
    assert page.evaluate("document.documentElement.scrollWidth") <= 1440
    assert page.evaluate(WORDS_BROKEN, "table.performance th, table.performance td") == []
