"""The order page's Cancel in a real browser: the whole order is canceled, every open unit (the page
lists them, read only, and points to the credit memo form for part of an order); choose the
channel's reason, read what will be sent, confirm, and find it on the channel (the sandbox).
Screenshots land in $SCREENSHOT_DIR (default: the test's tmp dir) to be looked at."""


import pytest
from django.urls import reverse

from orders.models import Order, OrderStatus
from orders.services.importing import account_import_orders
from orders.services.shipments import Tracking, order_ship
from tests.helpers import drain_actions, ups_tracking

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_cancel_the_whole_walmart_order_from_the_order_page(admin_page, sandbox, wm_account, shots):
    page = admin_page
    wm_account.create_store_order = False
    wm_account.save()
    [po] = sandbox.walmart.create_orders(count=1, lines=2, qty=2)
    account_import_orders(account_id=wm_account.pk)
    drain_actions()  # acknowledged
    order = Order.objects.get(channel_order_id=po)
    first, second = order.items.order_by("pk")
    order_ship(order_id=order.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(5)),
               quantities={first.pk: 1})
    drain_actions()

    page.go(f"/admin/orders/order/{order.pk}/change/")
    page.click("#cancel-order")
    rows = [page.locator("#cancel-lines tbody tr").nth(n).inner_text().split("\t") for n in range(2)]
    assert [(row[0], row[-1]) for row in rows] == [(first.sku, "1"), (second.sku, "2")]  # what is open, read only
    assert page.locator("#cancel-form input[name^=qty_], #cancel-form input[type=checkbox]").count() == 0
    assert page.input_value("select[name=reason]") == ""  # nothing chosen for the operator
    assert page.get_attribute("#cancel-credit-memo", "href") == reverse("admin:creditmemos_creditmemo_create_for_order",
                                                                        args=[order.pk])
    page.select_option("select[name=reason]", "SELLER_CANCEL_PRICING_ERROR")
    page.screenshot(path=str(shots / "cancel-choose.png"), full_page=True)
    page.click("#cancel-review")

    confirmation = page.inner_text("#cancel-confirmation")
    assert "Walmart will be sent one cancellation" in confirmation
    assert page.locator(".cancel-line").count() == 2
    assert "Reason: Pricing error (SELLER_CANCEL_PRICING_ERROR)" in confirmation
    assert f"Shipped units stay shipped: {first.sku} × 1." in confirmation
    page.screenshot(path=str(shots / "cancel-confirm.png"), full_page=True)
    assert not any(line.cancelled for line in sandbox.walmart.orders[po].lines)  # nothing sent before "Yes"
    page.click("#cancel-confirm")

    assert "queued for Walmart" in page.inner_text(".messagelist")
    drain_actions()
    assert [line.cancelled for line in sandbox.walmart.orders[po].lines] == [1, 2]
    assert {line.cancellation_reason for line in sandbox.walmart.orders[po].lines} == {"SELLER_CANCEL_PRICING_ERROR"}
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PARTIALLY_SHIPPED  # the shipped unit stays
    page.reload()
    page.screenshot(path=str(shots / "cancel-done-detail.png"), full_page=True)


def test_cancel_the_whole_amazon_order_from_the_order_page(admin_page, sandbox, az_account, shots):
    page = admin_page
    [order_id] = sandbox.amazon.create_orders(count=1, items=2, qty=2)
    account_import_orders(account_id=az_account.pk)
    order = Order.objects.get(channel_order_id=order_id)

    page.go(f"/admin/orders/order/{order.pk}/cancel/")
    assert page.locator("#cancel-lines tbody tr").count() == 2
    page.select_option("select[name=reason]", "NoInventory")
    page.screenshot(path=str(shots / "cancel-amazon-choose.png"), full_page=True)
    page.click("#cancel-review")
    confirmation = page.inner_text("#cancel-confirmation")
    assert "Amazon will be sent one cancellation" in confirmation and "No inventory (NoInventory)" in confirmation
    assert "the order becomes Canceled once Amazon confirms" in confirmation
    page.click("#cancel-confirm")
    assert "queued for Amazon" in page.inner_text(".messagelist")

    drain_actions()
    assert [item.canceled for item in sandbox.amazon.orders[order_id].items] == [2, 2]
