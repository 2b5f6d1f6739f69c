"""Issue 10 §1 and §5 in a real browser: ship part of an order from its page, upload tracking as a
CSV (preview, then confirm), and watch the credit memo form's totals follow the quantities.
Screenshots land in $SCREENSHOT_DIR (default: the test's tmp dir) to be looked at."""

import pytest

from orders.models import Order, OrderStatus, Shipment
from orders.services.importing import account_import_orders
from orders.services.shipments import Tracking, order_ship
from tests.helpers import drain_actions, ups_tracking

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def logged_in(live_server, page, django_user_model):
    django_user_model.objects.create_superuser("ship-admin", "s@example.com", "ship-pass-123")
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "ship-admin")
    page.fill("#id_password", "ship-pass-123")
    page.click("input[type=submit]")
    return page


def imported_walmart(sandbox, account, **create):
    account.create_store_order = False
    account.save()
    pos = sandbox.walmart.create_orders(**create)
    account_import_orders(account_id=account.pk)
    return [Order.objects.get(channel_order_id=po) for po in pos]


def test_partial_shipment_from_the_detail_page(live_server, logged_in, sandbox, wm_account, shots):
    page = logged_in
    [order] = imported_walmart(sandbox, wm_account, count=1, lines=2, qty=2)
    first, second = order.items.order_by("pk")
    page.goto(f"{live_server.url}/admin/orders/order/{order.pk}/change/")
    page.click("#mark-shipped")
    assert page.input_value(f"input[name=qty_{first.pk}]") == "2"  # all open by default
    page.fill(f"input[name=qty_{first.pk}]", "1")
    page.fill(f"input[name=qty_{second.pk}]", "0")
    page.select_option("select[name=carrier]", "UPS")
    page.fill("input[name=tracking_number]", "!!!???")
    page.click("#ship-submit")
    assert "Tracking number is not valid" in page.inner_text("#ship-form")
    page.screenshot(path=str(shots / "ship-form-error.png"), full_page=True)
    page.fill("input[name=tracking_number]", ups_tracking(1))
    page.click("#ship-submit")
    assert "queued for Walmart" in page.inner_text(".messagelist")
    drain_actions()
    page.reload()
    page.screenshot(path=str(shots / "ship-partial-detail.png"), full_page=True)
    assert f"{first.sku} × 1" in page.inner_text("#shipments")
    assert [line.shipped for line in sandbox.walmart.orders[order.channel_order_id].lines] == [1, 0]
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PARTIALLY_SHIPPED


def test_tracking_csv_upload_preview_then_confirm(live_server, logged_in, sandbox, wm_account, shots, tmp_path):
    page = logged_in
    good, bad = imported_walmart(sandbox, wm_account, count=2)
    csv_file = tmp_path / "tracking.csv"
    csv_file.write_text("Channel Order #,Carrier,Method,Tracking #\n"
                        f"{good.channel_order_id},UPS,Standard,{ups_tracking(2)}\n"
                        f"{bad.channel_order_id},UPS,Standard,=cmd|' /C calc'!A0\n")
    page.goto(f"{live_server.url}/admin/orders/order/")
    page.click("#upload-tracking-link")
    page.set_input_files("input[name=file]", str(csv_file))
    page.click("#preview-upload")
    summary = page.inner_text("#upload-summary")
    assert "1 row ready to ship" in summary and "1 with errors" in summary
    assert "spreadsheet formula" in page.inner_text("#upload-preview")
    page.screenshot(path=str(shots / "csv-preview.png"), full_page=True)
    assert not Shipment.objects.exists()  # nothing queued before the confirmation
    page.click("#confirm-upload")
    assert "1 shipment(s) recorded and queued" in page.inner_text(".messagelist")
    drain_actions()
    assert sandbox.walmart.orders[good.channel_order_id].lines[0].shipped == 1
    assert not Shipment.objects.filter(order=bad).exists()


def test_credit_memo_totals_follow_the_quantities(live_server, logged_in, sandbox, wm_account, shots):
    page = logged_in
    [order] = imported_walmart(sandbox, wm_account, count=1, lines=2, qty=2)
    order_ship(order_id=order.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(3)))
    drain_actions()
    first, second = order.items.order_by("pk")
    page.goto(f"{live_server.url}/admin/orders/order/{order.pk}/change/")
    page.click("#credit-memo")
    full_shipping = page.input_value("input[name=shipping_refund]")
    page.fill(f"input[name=qty_{first.pk}]", "1")
    page.fill(f"input[name=qty_{second.pk}]", "0")
    page.click("#update-totals")
    first.refresh_from_db()
    one_unit_shipping = f"{first.shipping_charge / 2:.2f}"
    assert page.input_value("input[name=shipping_refund]") == one_unit_shipping != full_shipping
    line_totals = [float(cell) for cell in page.locator("#memo-lines .line-total").all_inner_texts()]
    grand = float(page.inner_text("#memo-grand-total").split()[0])
    assert round(sum(line_totals), 2) == grand
    assert "R-CM" not in page.content()
    page.screenshot(path=str(shots / "credit-memo-totals.png"), full_page=True)


def test_refund_reason_is_asked_only_while_shipped_units_are_refunded(live_server, logged_in, sandbox, wm_account,
                                                                      shots):
    """Issue 10 §5: on a Partially Shipped order, crediting only the unshipped line (a cancel) asks no
    refund reason; crediting a shipped unit asks it — decided again on every Update totals."""
    page = logged_in
    [order] = imported_walmart(sandbox, wm_account, count=1, lines=2, qty=1)
    shipped_line, open_line = order.items.order_by("pk")
    order_ship(order_id=order.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(4)),
               quantities={shipped_line.pk: 1})
    drain_actions()
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PARTIALLY_SHIPPED
    page.goto(f"{live_server.url}/admin/orders/order/{order.pk}/change/")
    page.click("#credit-memo")
    assert page.locator("#row-refund_reason").count() == 1  # the default credits the shipped unit too

    page.fill(f"input[name=qty_{shipped_line.pk}]", "0")
    page.click("#update-totals")
    assert page.locator("#row-refund_reason").count() == 0
    assert page.locator(".memo-line td").first.inner_text() == "Cancel"
    page.screenshot(path=str(shots / "memo-cancel-only-no-reason.png"), full_page=True)

    page.fill(f"input[name=qty_{shipped_line.pk}]", "1")
    page.click("#update-totals")
    reason = page.locator("#row-refund_reason select")
    assert reason.input_value() == "CustomerChangedMind"
    assert "Customer changed mind (CustomerChangedMind)" in reason.inner_text()
    page.screenshot(path=str(shots / "memo-refund-asks-reason.png"), full_page=True)
