"""Issue 10 §5 in a real browser: a refused credit memo comes back with every entry the operator
made (quantities, shipping, reason, comment) and the preview box saying nothing was saved; the
shipped unit of a partly shipped line can be refunded alone."""

import os
from pathlib import Path

import pytest

from creditmemos.models import CreditMemo
from orders.models import Order
from orders.services.importing import account_import_orders
from orders.services.shipments import Tracking, order_ship
from tests.helpers import drain_actions, ups_tracking

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_refused_memo_keeps_the_operators_entries(admin_page, sandbox, wm_account, tmp_path):
    shots = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    [po] = sandbox.walmart.create_orders(count=1, lines=1, qty=2)
    account_import_orders(account_id=wm_account.pk)
    order = Order.objects.get(channel_order_id=po)
    item = order.items.get()
    order_ship(order_id=order.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(5)),
               quantities={item.pk: 1})
    drain_actions()

    page = admin_page
    page.go(f"/admin/creditmemos/creditmemo/for-order/{order.pk}/")
    page.fill(f"input[name=qty_{item.pk}]", "1")
    page.click("#update-totals")
    assert "Refund\t" in page.inner_text("#memo-lines") and "Cancel\t" not in page.inner_text("#memo-lines")
    page.select_option("select[name=refund_reason]", "DamagedItem")
    page.fill("input[name=shipping_refund]", "500")
    page.fill("textarea[name=comment]", "box crushed")
    page.click("#save-credit-memo")

    assert "of shipping can be refunded" in page.inner_text("#memo-error")
    assert page.is_visible("#preview-refused")
    assert page.input_value("select[name=refund_reason]") == "DamagedItem"
    assert page.input_value("input[name=shipping_refund]") == "500"
    assert page.input_value("textarea[name=comment]") == "box crushed"
    assert page.input_value(f"input[name=qty_{item.pk}]") == "1"
    assert not CreditMemo.objects.exists()
    page.screenshot(path=str(shots / "credit-memo-refused.png"), full_page=True)

    page.fill("input[name=shipping_refund]", "1.00")
    page.click("#update-totals")
    page.screenshot(path=str(shots / "credit-memo-preview.png"), full_page=True)
    assert "USD" in page.inner_text("#memo-totals")


def test_a_shipping_refund_typed_equal_to_the_one_shown_is_saved_as_typed(admin_page, sandbox, wm_account):
    """The form shows the full shipping for every unit; the operator credits no unit and types that same
    shipping again: a shipping-only memo of it, not "credits nothing"."""
    [po] = sandbox.walmart.create_orders(count=1, lines=1, qty=2)
    account_import_orders(account_id=wm_account.pk)
    order = Order.objects.get(channel_order_id=po)
    item = order.items.get()
    order_ship(order_id=order.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(6)))
    drain_actions()

    page = admin_page
    page.go(f"/admin/creditmemos/creditmemo/for-order/{order.pk}/")
    shown = page.input_value("input[name=shipping_refund]")
    page.fill(f"input[name=qty_{item.pk}]", "0")
    page.fill("input[name=shipping_refund]", shown)
    page.select_option("select[name=refund_reason]", "IncorrectShippingPrice")
    page.click("#save-credit-memo")
    page.wait_for_selector("#content")

    memo = CreditMemo.objects.get(order=order)
    assert f"{memo.shipping_refund:.2f}" == shown != "0.00"
