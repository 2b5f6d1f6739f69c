"""The order page's Cancel in a real browser: choose a line's units and Walmart's reason, read what
will be sent, confirm, and find it on Walmart (the sandbox). Screenshots land in $SCREENSHOT_DIR
(default: the test's tmp dir) to be looked at."""


import pytest

from orders.models import Order, OrderStatus
from orders.services.importing import account_import_orders
from tests.helpers import drain_actions

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_cancel_part_of_a_line_from_the_order_page(admin_page, sandbox, wm_account, shots):
    page = admin_page
    wm_account.create_store_order = False
    wm_account.save()
    [po] = sandbox.walmart.create_orders(count=1, lines=2, qty=2)
    account_import_orders(account_id=wm_account.pk)
    drain_actions()  # acknowledged
    order = Order.objects.get(channel_order_id=po)
    status_before = order.status
    first, second = order.items.order_by("pk")

    page.go(f"/admin/orders/order/{order.pk}/change/")
    page.click("#cancel-order")
    assert page.input_value(f"input[name=qty_{first.pk}]") == "0"  # nothing chosen for the operator
    page.fill(f"input[name=qty_{first.pk}]", "1")
    page.select_option("select[name=reason]", "SELLER_CANCEL_PRICING_ERROR")
    page.screenshot(path=str(shots / "cancel-choose.png"), full_page=True)
    page.click("#cancel-review")

    confirmation = page.inner_text("#cancel-confirmation")
    assert "Walmart will be sent one cancellation" in confirmation
    assert "Reason: Pricing error (SELLER_CANCEL_PRICING_ERROR)" in confirmation
    assert f"Left open to ship: {first.sku} × 1, {second.sku} × 2." in confirmation
    page.screenshot(path=str(shots / "cancel-confirm.png"), full_page=True)
    assert not any(line.cancelled for line in sandbox.walmart.orders[po].lines)  # nothing sent before "Yes"
    page.click("#cancel-confirm")

    assert "queued for Walmart" in page.inner_text(".messagelist")
    drain_actions()
    assert [line.cancelled for line in sandbox.walmart.orders[po].lines] == [1, 0]
    assert sandbox.walmart.orders[po].lines[0].cancellation_reason == "SELLER_CANCEL_PRICING_ERROR"
    assert Order.objects.get(pk=order.pk).status == status_before != OrderStatus.CANCELED  # units are left to ship
    page.reload()
    page.screenshot(path=str(shots / "cancel-done-detail.png"), full_page=True)


def test_cancel_a_whole_amazon_line_from_the_order_page(admin_page, sandbox, az_account, shots):
    """Amazon cancels lines whole: a line is ticked, not given a quantity."""
    page = admin_page
    [order_id] = sandbox.amazon.create_orders(count=1, items=2, qty=2, buyer_cancel=True)
    account_import_orders(account_id=az_account.pk)
    order = Order.objects.get(channel_order_id=order_id)
    first, second = order.items.order_by("pk")

    page.go(f"/admin/orders/order/{order.pk}/cancel/")
    assert "Amazon cancels a line whole" in page.inner_text("#cancel-form")
    page.check(f"input[name=qty_{second.pk}]")
    page.select_option("select[name=reason]", "NoInventory")
    page.screenshot(path=str(shots / "cancel-amazon-choose.png"), full_page=True)
    page.click("#cancel-review")
    confirmation = page.inner_text("#cancel-confirmation")
    assert "Amazon will be sent one cancellation" in confirmation and "No inventory (NoInventory)" in confirmation
    page.click("#cancel-confirm")
    assert "queued for Amazon" in page.inner_text(".messagelist")

    drain_actions()
    assert [item.canceled for item in sandbox.amazon.orders[order_id].items] == [0, 2]
