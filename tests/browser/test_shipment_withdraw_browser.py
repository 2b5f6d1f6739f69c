"""The operator's way back from a shipment Walmart refused, in a real browser: the order page shows
the refusal and offers Withdraw; the confirmation says what it gives back; once withdrawn, the
shipment stays listed as withdrawn and the units can be shipped again from the ship form. Then a
refused shipment corrected (the method included) is sent again. Screenshots land in $SCREENSHOT_DIR."""

import pytest

from orders.models import ChannelAction, Order
from orders.services.importing import account_import_orders
from orders.services.shipments import Tracking, order_ship
from tests.helpers import drain_actions, ups_tracking

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def refused_order(sandbox, account):
    account.create_store_order = False
    account.save()
    [po] = sandbox.walmart.create_orders(count=1, qty=2, acknowledged=True)
    account_import_orders(account_id=account.pk)
    order = Order.objects.get(channel_order_id=po)
    sandbox.faults.add(kind="400", path="/shipping$")
    shipment = order_ship(order_id=order.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(1)))
    drain_actions()
    return order, shipment


def test_an_operator_withdraws_a_refused_shipment_and_ships_again(live_server, admin_page, sandbox, wm_account,
                                                                    shots):
    page = admin_page
    order, shipment = refused_order(sandbox, wm_account)
    detail = f"{live_server.url}/admin/orders/order/{order.pk}/change/"
    page.goto(detail)
    row = page.locator("#shipments tbody tr").first
    assert "Error" in row.inner_text() and row.locator("a.withdraw-shipment").count() == 1
    page.screenshot(path=str(shots / "withdraw-1-refused.png"), full_page=True)

    row.locator("a.withdraw-shipment").click()
    assert "Walmart has not accepted this shipment" in page.inner_text("#withdraw-shipment-form")
    page.screenshot(path=str(shots / "withdraw-2-confirm.png"), full_page=True)
    page.click("#confirm-withdraw")

    assert "withdrawn and logged; its units are back to ship" in page.inner_text(".messagelist")
    row = page.locator("#shipments tbody tr.withdrawn")
    assert "Withdrawn" in row.inner_text() and "never shipped on Walmart" in row.inner_text()
    assert row.locator("a").count() == 0  # nothing more to do with it
    assert f"Shipment #{shipment.pk} (UPS {ups_tracking(1)}) withdrawn" in page.inner_text("body")
    page.screenshot(path=str(shots / "withdraw-3-withdrawn.png"), full_page=True)

    page.click("#mark-shipped")
    page.select_option("select[name=carrier]", "UPS")
    page.fill("input[name=tracking_number]", ups_tracking(2))
    page.click("#ship-submit")
    assert "queued for Walmart" in page.inner_text(".messagelist")
    drain_actions()
    assert sandbox.walmart.orders[order.channel_order_id].lines[0].shipped == 2


def test_an_operator_corrects_a_refused_shipment_method_included(live_server, admin_page, sandbox, wm_account, shots):
    page = admin_page
    order, shipment = refused_order(sandbox, wm_account)
    page.goto(f"{live_server.url}/admin/orders/order/{order.pk}/change/")
    page.locator("#shipments a.correct-shipment").click()
    assert page.input_value("select[name=method]") == "Standard"
    page.select_option("select[name=method]", "Express")
    page.fill("input[name=tracking_number]", ups_tracking(3))
    page.screenshot(path=str(shots / "correct-refused.png"), full_page=True)
    page.click("#save-correction")

    assert f"Shipment #{shipment.pk} corrected and logged; queued for Walmart" in page.inner_text(".messagelist")
    drain_actions()
    [package] = sandbox.walmart.orders[order.channel_order_id].lines[0].packages
    assert (package["trackingInfo"]["trackingNumber"], package["trackingInfo"]["methodCode"]) == (
        ups_tracking(3), "Express")
    assert ChannelAction.objects.filter(shipment=shipment, state="withdrawn").count() == 1
