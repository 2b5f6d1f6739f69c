"""Issue 10 §6 in a real browser: the order page's action buttons (links and form buttons alike) stand
in one line at one height, and the Items table's money reads right-aligned, like the Totals."""

import os
from pathlib import Path

import pytest

from orders.models import OrderStatus
from tests.factories import ShipmentItemFactory, create_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_order_pages_buttons_line_up_and_its_money_is_right_aligned(admin_page, walmart_account, tmp_path):
    order = create_order(account=walmart_account, status=OrderStatus.PARTIALLY_SHIPPED, n_items=2)
    first = order.items.order_by("pk").first()
    ShipmentItemFactory(shipment__order=order, order_item=first, qty=first.qty_ordered)
    type(first).objects.filter(pk=first.pk).update(qty_shipped=first.qty_ordered)

    admin_page.go(f"/admin/orders/order/{order.pk}/change/")
    folder = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    admin_page.screenshot(path=str(folder / "order_detail_actions.png"))

    buttons = admin_page.locator(".order-detail-actions a.button, .order-detail-actions input[type=submit]")
    boxes = {buttons.nth(n).inner_text() or buttons.nth(n).get_attribute("value"): buttons.nth(n).bounding_box()
             for n in range(buttons.count())}
    assert {"Create Order", "Mark as Shipped", "Cancel", "Resend Shipping Information", "Credit Memo"} <= set(boxes)
    assert len({round(box["y"]) for box in boxes.values()}) == 1, boxes
    assert len({round(box["height"]) for box in boxes.values()}) == 1, boxes

    alignments = admin_page.eval_on_selector_all(
        "#items td.money", "cells => cells.map(cell => getComputedStyle(cell).textAlign)")
    assert len(alignments) == 2 * 4 and set(alignments) == {"right"}
