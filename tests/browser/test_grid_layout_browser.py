"""Issue 10 §6: a grid made for a working day — one or two text lines per order at 1440 px, long text
truncated with the full text on hover. Counts the orders that fit on a 1440×900 screen."""

from pathlib import Path

import pytest

from orders.models import Order, OrderItem, OrderStatus
from tests.factories import create_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TITLES = [
    "Mainstays 12-Piece Stoneware Dinnerware Set, Round, Solid Color White, Service for 4",
    "Hamilton Beach 2-Slice Toaster with Extra-Wide Slots, Bagel Setting, Toast Boost, Silver",
    "Better Homes & Gardens Thick and Plush Solid 6-Piece Bath Towel Set, Arctic White",
]


def orders_on_screen(page) -> int:
    """Result rows entirely inside the 900 px tall window."""
    return page.evaluate(
        "() => [...document.querySelectorAll('#result_list tbody tr')]"
        ".filter(row => row.getBoundingClientRect().bottom <= window.innerHeight).length"
    )


def test_grid_fits_many_orders_on_a_1440_by_900_screen(live_server, page, walmart_account, amazon_account,
                                                       django_user_model):
    django_user_model.objects.create_superuser("grid-admin", "g@example.com", "grid-pass-123")
    for n in range(60):
        order = create_order(account=walmart_account if n % 2 else amazon_account, status=OrderStatus.UNSHIPPED,
                             n_items=1 + n % 3)
        Order.objects.filter(pk=order.pk).update(
            buyer_name="Alexandria Catherine Montgomery-Smythe",
            buyer_email=f"{n:04d}3f6a8c2d1e9b4a7c8d2e1f3a4b5c6d7e@relay.walmart.com",
        )
        for index, item in enumerate(order.items.all()):
            OrderItem.objects.filter(pk=item.pk).update(title=TITLES[index % 3], sku=f"WM-HOME-{n:05d}-{index}")
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{live_server.url}/admin/login/?next=/admin/orders/order/")
    page.fill("#id_username", "grid-admin")
    page.fill("#id_password", "grid-pass-123")
    page.click("input[type=submit]")
    page.wait_for_selector("#result_list")
    ARTIFACTS.mkdir(exist_ok=True)
    at_top = orders_on_screen(page)  # as the page opens, under the header, title and action bar
    page.screenshot(path=str(ARTIFACTS / "grid-1440x900-top.png"))
    page.evaluate("() => document.querySelector('#result_list').scrollIntoView()")

    fitting = orders_on_screen(page)
    page.screenshot(path=str(ARTIFACTS / "grid-1440x900.png"))
    print(f"orders on a 1440x900 screen: {at_top} as the page opens, {fitting} scrolled to the list")
    assert at_top >= 12
    # The full text stays one hover away.
    buyer = page.locator("#result_list td.field-buyer_column [title]").first
    assert "@relay.walmart.com" in buyer.get_attribute("title")
    rows = page.locator("#result_list tbody tr")
    heights = [rows.nth(i).bounding_box()["height"] for i in range(10)]
    assert max(heights) <= 44, heights  # at most two lines of 12 px text plus padding
    assert fitting >= 15
    # Every column, status included, is on the screen without scrolling sideways.
    status_right, visible_right = page.evaluate(
        "() => [document.querySelector('#result_list th.column-status_column').getBoundingClientRect().right,"
        " document.querySelector('#changelist-form .results').getBoundingClientRect().right]"
    )
    assert status_right <= visible_right
    assert page.title().startswith("Orders")


def test_date_filter_inputs_show_the_whole_date(admin_page):
    page = admin_page
    page.go("/admin/orders/order/?sale_date_after=2026-12-28&sale_date_before=2026-12-31"
            "&ship_by_date_after=2026-11-30&ship_by_date_before=2026-12-31")
    page.wait_for_selector("#order-filters")
    inputs = page.locator("#order-filters input[type=date]")
    assert inputs.count() == 4
    for index in range(4):
        field = inputs.nth(index)
        assert field.input_value().startswith("2026-1")
        # Nothing of the date is cut off: the input is as wide as what it shows, picker icon included.
        assert field.evaluate("el => el.scrollWidth <= el.clientWidth"), field.get_attribute("name")
        assert field.bounding_box()["width"] >= 140
    page.locator("#changelist-filter").screenshot(path=str(ARTIFACTS / "grid-date-filters.png"))
