"""Issue 10 §6: a grid made for a working day — one or two text lines per order at 1440 px, long text
truncated with the full text on hover. Counts the orders that fit on a 1440×900 screen."""

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from orders.models import ChannelAction, Fulfillment, Order, OrderItem, OrderStatus, SyncState
from tests.factories import ChannelActionFactory, create_order

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


CELLS_OVERFLOWING = """() => [...document.querySelectorAll('#result_list td')]
    .filter(td => td.scrollWidth > td.clientWidth + 1).map(td => td.className + ': ' + td.innerText)"""
# Columns an operator reads whole (never cut): dates, order numbers, money, the status itself.
WHOLE_COLUMNS = ("sale_date_column", "ship_by_date_column", "store_order_column", "channel_order_column",
                 "total_paid_column", "fulfillment_column")
LINES_CUT = """(columns) => [...document.querySelectorAll('#result_list td')]
    .filter(td => columns.some(name => td.classList.contains('field-' + name)))
    .flatMap(td => [...td.querySelectorAll('.line')].length ? [...td.querySelectorAll('.line')] : [td])
    .filter(line => line.scrollWidth > line.clientWidth + 1).map(line => line.innerText)"""


def _grid_orders(walmart_account, amazon_account):
    """60 orders as the channels send them: Amazon's 19-character order numbers, store order numbers,
    long titles, names and relay e-mails, and the longest statuses the Status column shows (a change
    on its way, a failed action with a long message and its Retry, Amazon's cancellation request)."""
    now = timezone.now()
    for n in range(60):
        account = walmart_account if n % 2 else amazon_account
        order = create_order(account=account, status=OrderStatus.UNSHIPPED, n_items=1 + n % 3,
                             sale_date=now - dt.timedelta(hours=n))  # the grid's first page: n = 0 … 49
        Order.objects.filter(pk=order.pk).update(
            channel_order_id=f"902-{3159911 + n:07d}-{1390931 + n:07d}" if account == amazon_account
            else f"{1796277083039 + n}",
            store_order_number=f"{100000119 + n}" if n % 3 else None,
            store_order_created_at=now if n % 3 else None,
            buyer_name="Alexandria Catherine Montgomery-Smythe",
            buyer_email=f"{n:04d}3f6a8c2d1e9b4a7c8d2e1f3a4b5c6d7e@relay.walmart.com",
            fulfillment=Fulfillment.CHANNEL if n % 7 == 0 else Fulfillment.MERCHANT,
            grand_total=Decimal("12345.67") if n == 5 else order.grand_total,
            buyer_cancel_requested=account == amazon_account and n % 5 == 0,
        )
        for index, item in enumerate(order.items.all()):
            OrderItem.objects.filter(pk=item.pk).update(title=TITLES[index % 3], sku=f"WM-HOME-{n:05d}-{index}")
        if n % 4 == 1:
            Order.objects.filter(pk=order.pk).update(sync_state=SyncState.ERROR)
            ChannelActionFactory(order=order, kind=ChannelAction.Kind.SHIP, description="Ship (UPS 1Z999AA10123456784)",
                                 state=ChannelAction.State.FAILED, next_attempt_at=now, payload={"lines": []},
                                 last_error="The carrier UPS rejected tracking number 1Z999AA10123456784: "
                                            "it does not match the carrier's format")
        elif n % 4 == 3:
            Order.objects.filter(pk=order.pk).update(sync_state=SyncState.PENDING, status=OrderStatus.SHIPPED)
            ChannelActionFactory(order=order, kind=ChannelAction.Kind.SHIP, description="Ship",
                                 state=ChannelAction.State.PENDING, payload={"lines": []})


def test_grid_fits_many_orders_on_a_1440_by_900_screen(live_server, page, walmart_account, amazon_account,
                                                       django_user_model):
    django_user_model.objects.create_superuser("grid-admin", "g@example.com", "grid-pass-123")
    _grid_orders(walmart_account, amazon_account)
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
    assert at_top >= 19  # 17 before the grid was laid out to its width (and no empty "Views" line)
    # The full text stays one hover away.
    buyer = page.locator("#result_list td.field-buyer_column [title]").first
    assert "@relay.walmart.com" in buyer.get_attribute("title")
    rows = page.locator("#result_list tbody tr")
    heights = [rows.nth(i).bounding_box()["height"] for i in range(10)]
    assert max(heights) <= 44, heights  # at most two lines of 12 px text plus padding
    assert fitting >= 22
    # Every column, status included, is on the screen without scrolling sideways: the table is as wide
    # as the space it has, not wider (it used to be scrolled inside it, the Status column cut off).
    table_width, visible_width, status_right, visible_right = page.evaluate(
        "() => [document.querySelector('#result_list').getBoundingClientRect().width,"
        " document.querySelector('#changelist-form .results').clientWidth,"
        " document.querySelector('#result_list th.column-status_column').getBoundingClientRect().right,"
        " document.querySelector('#changelist-form .results').getBoundingClientRect().right]"
    )
    assert table_width <= visible_width and status_right <= visible_right
    # Nothing spills into the next column, and what an operator reads whole is whole.
    assert page.evaluate(CELLS_OVERFLOWING) == []
    assert page.evaluate(LINES_CUT, list(WHOLE_COLUMNS)) == []
    status_labels = page.locator("#result_list td.field-status_column .order-status")
    assert all(status_labels.nth(i).evaluate("el => el.scrollWidth <= el.parentElement.clientWidth")
               for i in range(status_labels.count()))
    # A failed action's message is cut short, its Retry link stays whole inside the cell.
    retries = page.locator("#result_list td.field-status_column a.retry-link")
    assert retries.count() >= 10
    for i in range(retries.count()):
        retry = retries.nth(i).evaluate("a => [a.getBoundingClientRect().right, a.closest('td').getBoundingClientRect().right,"
                                        " a.scrollWidth <= a.clientWidth || a.offsetWidth > 20]")
        assert retry[0] <= retry[1] and retry[2], retry
    # Every cut line of a cell has the whole of it on hover.
    assert page.evaluate("""() => [...document.querySelectorAll('#result_list .cell')].filter(cell =>
        [...cell.querySelectorAll('.line')].some(line => line.scrollWidth > line.clientWidth + 1) && !cell.title).length""") == 0
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
