"""Issue 4's demo in a real browser: refund part of a shipped Walmart order, and cancel a buyer-requested
line of an unshipped one, through the credit memo form; both reach the sandbox and the Order Log."""

import pytest

from orders.models import Order, OrderStatus
from orders.services.importing import account_import_orders
from orders.services.shipments import Tracking, order_ship
from tests.helpers import drain_actions, ups_tracking

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_operator_refunds_part_of_a_shipped_order_and_cancels_a_buyer_requested_line(
        live_server, page, sandbox, wm_account, django_user_model):
    django_user_model.objects.create_superuser("memo-admin", "m@example.com", "memo-pass-123")
    [shipped_po] = sandbox.walmart.create_orders(count=1, lines=2, qty=2)
    [requested_po] = sandbox.walmart.create_orders(count=1, lines=2, qty=1)
    sandbox.walmart.request_cancellation(requested_po, line_numbers=["1"])
    account_import_orders(account_id=wm_account.pk)
    shipped = Order.objects.get(channel_order_id=shipped_po)
    order_ship(order_id=shipped.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(1)))
    drain_actions()

    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "memo-admin")
    page.fill("#id_password", "memo-pass-123")
    page.click("input[type=submit]")

    # Refund one unit of the first line of the shipped order.
    first, second = shipped.items.order_by("pk")
    page.goto(f"{live_server.url}/admin/orders/order/{shipped.pk}/change/")
    page.click("#credit-memo")
    assert not page.is_visible("#stale-note")  # the preview shows the form's defaults
    page.fill(f"input[name=qty_{first.pk}]", "1")
    assert page.is_visible("#stale-note")  # the totals no longer show what the entries credit
    page.fill(f"input[name=qty_{second.pk}]", "0")
    page.fill("input[name=shipping_refund]", "0")
    page.click("input[name=_preview]")
    assert not page.is_visible("#stale-note")
    assert f"Refund\t{first.sku}\t1\t" in page.inner_text("#memo-lines")
    page.click("#save-credit-memo")
    assert "Credit memo #" in page.inner_text(".messagelist")

    # Cancel the buyer-requested line of the unshipped order.
    requested = Order.objects.get(channel_order_id=requested_po)
    flagged, other = requested.items.order_by("pk")
    page.goto(f"{live_server.url}/admin/orders/order/{requested.pk}/change/")
    assert "Cancellation Requested" in page.inner_text("#items")
    page.click("#credit-memo")
    page.fill(f"input[name=qty_{other.pk}]", "0")
    page.click("#save-credit-memo")
    page.wait_for_selector(".messagelist")

    drain_actions()
    page.goto(f"{live_server.url}/admin/orders/order/{requested.pk}/change/")
    log = page.inner_text("#order-log")
    assert "(Buyer Canceled)" in log and "done on Walmart" in log

    assert len(sandbox.walmart.orders[shipped_po].lines[0].refunds) == 1
    assert sandbox.walmart.orders[shipped_po].lines[1].refunds == []
    assert sandbox.walmart.orders[requested_po].lines[0].cancellation_reason == "CUSTOMER_REQUESTED_SELLER_TO_CANCEL"
    assert sandbox.walmart.orders[requested_po].lines[1].cancelled == 0
    first.refresh_from_db()
    flagged.refresh_from_db()
    assert (first.qty_refunded, flagged.qty_canceled) == (1, 1)
    assert Order.objects.get(pk=shipped.pk).status == OrderStatus.SHIPPED
