"""Amazon end to end against the sandbox over real HTTP (R-AZ-STATUS, R-ACC-1, R-CM-2/3/4, feeds)."""

import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from django.urls import reverse

from creditmemos.models import CreditMemo
from creditmemos.rules import MemoInput
from creditmemos.services import credit_memo_create, credit_memo_defaults
from orders import outbox
from orders.models import ChannelAction, Order, OrderLog, OrderStatus, SyncState
from orders.services.cancel import order_cancel
from orders.services.importing import account_import_orders
from orders.services.shipments import Tracking, order_ship
from tests.helpers import drain_actions, ups_tracking, wait_until_due

pytestmark = pytest.mark.django_db
UPS = Tracking(carrier="UPS", tracking_number=ups_tracking(2), method="UPS Ground")


def import_now(account):
    return account_import_orders(account_id=account.pk)


def uploaded_feed(sandbox, feed_type):
    feed = next(f for f in sandbox.amazon.feeds.values() if f.feed_type == feed_type)
    return ET.fromstring(sandbox.amazon.documents[feed.document_id]["content"])


def test_paging_with_next_token_and_reimport_is_idempotent(sandbox, az_account):
    """Orders v0 (selectable per account): a getOrderItems call per order; 2026: tests/amazon/test_orders_2026.py."""
    az_account.create_store_order = False
    az_account.orders_api = "v0"
    az_account.save()
    sandbox.amazon.create_orders(count=250, items=2)
    result = import_now(az_account)
    assert result.created == 250 and result.pages == 3
    calls = sandbox.requests.all(method="GET", path=r"^/orders/v0/orders$")
    assert "NextToken" in calls[1].query and "MarketplaceIds" in calls[1].query
    assert len(sandbox.requests.all(path="/orderItems$")) == 250
    assert Order.objects.filter(channel="amazon").count() == 250

    again = import_now(az_account)
    assert again.created == 0 and Order.objects.count() == 250
    assert len(sandbox.requests.all(path="/auth/o2/token")) == 1  # the LWA token is cached


def test_amazon_order_fields_and_item_price_is_a_line_total(sandbox, az_account):
    [order_id] = sandbox.amazon.create_orders(count=1, items=1, qty=2, price="10.00")
    import_now(az_account)
    order = Order.objects.get(channel_order_id=order_id)
    item = order.items.get()
    assert (item.qty_ordered, item.unit_price, item.tax, item.shipping_charge) == (
        2, Decimal("10.00"), Decimal("1.60"), Decimal("1.26"))
    assert order.grand_total == Decimal("22.86") and order.status == OrderStatus.UNSHIPPED


def test_r_acc_1_pending_orders_get_no_store_order_until_paid(sandbox, az_account):
    [order_id] = sandbox.amazon.create_orders(count=1, paid=False)
    import_now(az_account)
    order = Order.objects.get(channel_order_id=order_id)
    assert order.status == OrderStatus.PENDING and order.store_order_number is None and not order.is_paid

    sandbox.amazon.pay(order_id)
    import_now(az_account)
    order.refresh_from_db()
    assert order.status == OrderStatus.UNSHIPPED and order.store_order_number
    assert not ChannelAction.objects.filter(order=order).exists()  # Amazon orders are not acknowledged


def test_pending_order_canceled_on_amazon_becomes_canceled(sandbox, az_account):
    [order_id] = sandbox.amazon.create_orders(count=1, paid=False)
    import_now(az_account)
    sandbox.amazon.channel_cancel(order_id)
    import_now(az_account)
    assert Order.objects.get(channel_order_id=order_id).status == OrderStatus.CANCELED


@pytest.mark.parametrize(("channel_status", "expected"), [("Unfulfillable", OrderStatus.UNFULFILLABLE),
                                                          ("InvoiceUnconfirmed", OrderStatus.INVOICE_UNCONFIRMED)])
def test_r_az_status_other_channel_values_stay_visible(sandbox, az_account, channel_status, expected):
    az_account.orders_api = "v0"  # InvoiceUnconfirmed is a v0 status only (2026-01-01 has none like it)
    az_account.save()
    [order_id] = sandbox.amazon.create_orders(count=1)
    sandbox.amazon.orders[order_id].status = channel_status
    import_now(az_account)
    assert Order.objects.get(channel_order_id=order_id).status == expected


def test_buyer_cancellation_request_shows_in_the_status_column(sandbox, az_account, admin_client):
    [order_id] = sandbox.amazon.create_orders(count=1)
    import_now(az_account)
    sandbox.amazon.request_cancellation(order_id, reason="Found cheaper somewhere else.")
    import_now(az_account)
    order = Order.objects.get(channel_order_id=order_id)
    assert order.buyer_cancel_requested
    html = admin_client.get(reverse("admin:orders_order_changelist")).content.decode()
    assert "Unshipped (Cancellation Requested)" in html
    [line] = OrderLog.objects.filter(order=order, message__contains="Found cheaper somewhere else")
    assert line.message.endswith(": Found cheaper somewhere else.")  # the buyer's full stop, not a second one


def test_confirm_shipment_payload_is_exactly_the_contract(sandbox, az_account):
    [order_id] = sandbox.amazon.create_orders(count=1, items=2, qty=1)
    import_now(az_account)
    order = Order.objects.get(channel_order_id=order_id)
    first = order.items.order_by("pk").first()

    shipment = order_ship(order_id=order.pk, tracking=UPS, quantities={first.pk: 1})
    drain_actions()

    [call] = sandbox.requests.all(method="POST", path="/shipmentConfirmation$")
    package = call.body["packageDetail"]
    assert call.body["marketplaceId"] == "ATVPDKIKX0DER"
    # The package is the shipment: a later tracking correction edits it under the same reference.
    assert package["packageReferenceId"] == str(shipment.pk) and package["carrierCode"] == "UPS"
    assert package["trackingNumber"] == ups_tracking(2) and package["shippingMethod"] == "UPS Ground"
    assert package["shipDate"].endswith("Z")
    assert package["orderItems"] == [{"orderItemId": first.channel_line_id, "quantity": 1}]
    assert sandbox.amazon.orders[order_id].status == "PartiallyShipped"
    order.refresh_from_db()
    assert order.status == OrderStatus.PARTIALLY_SHIPPED and order.sync_state == SyncState.OK


def test_cancel_goes_through_an_acknowledgement_feed(sandbox, az_account):
    [order_id] = sandbox.amazon.create_orders(count=1, items=2)
    import_now(az_account)
    order = Order.objects.get(channel_order_id=order_id)

    order_cancel(order_id=order.pk, reason="out_of_stock")
    drain_actions()

    root = uploaded_feed(sandbox, "POST_ORDER_ACKNOWLEDGEMENT_DATA")
    ack = root.find("Message/OrderAcknowledgement")
    assert root.findtext("MessageType") == "OrderAcknowledgement"
    assert ack.findtext("AmazonOrderID") == order_id and ack.findtext("StatusCode") == "Failure"
    assert sorted(i.findtext("AmazonOrderItemCode") for i in ack.findall("Item")) == sorted(
        order.items.values_list("channel_line_id", flat=True))
    assert {i.findtext("CancelReason") for i in ack.findall("Item")} == {"NoInventory"}
    assert sandbox.amazon.orders[order_id].status == "Canceled"
    action = ChannelAction.objects.get(order=order)
    assert action.state == "succeeded" and action.channel_reference.isdigit()
    assert OrderLog.objects.filter(order=order, message__contains="waiting for its processing report").exists()


def test_r_cm_3_refund_feed_matches_the_memo(sandbox, az_account):
    [order_id] = sandbox.amazon.create_orders(count=1, items=1, qty=2, price="10.00")
    import_now(az_account)
    order = Order.objects.get(channel_order_id=order_id)
    order_ship(order_id=order.pk, tracking=UPS)
    drain_actions()
    item = order.items.get()

    memo = credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={item.pk: 1}, shipping_refund=Decimal("1.26")))
    drain_actions()

    adjusted = uploaded_feed(sandbox, "POST_PAYMENT_ADJUSTMENT_DATA").find("Message/OrderAdjustment/AdjustedItem")
    components = {c.findtext("Type"): Decimal(c.findtext("Amount")) for c in adjusted.findall("ItemPriceAdjustments/Component")}
    assert adjusted.findtext("AmazonOrderItemCode") == item.channel_line_id
    assert adjusted.findtext("AdjustmentReason") == "CustomerReturn"  # Shipped order (R-CM-3)
    assert components == {"Principal": Decimal("10.00"), "Tax": Decimal("0.80"), "Shipping": Decimal("1.26")}
    assert sandbox.amazon.orders[order_id].items[0].refunded == Decimal("12.06")
    memo.refresh_from_db()
    assert memo.state == CreditMemo.State.DONE and memo.channel_reference.isdigit()


def test_r_cm_4_buyer_canceled_memo_on_unshipped_amazon_order(sandbox, az_account):
    [order_id] = sandbox.amazon.create_orders(count=1, buyer_cancel=True)
    import_now(az_account)
    order = Order.objects.get(channel_order_id=order_id)
    credit_memo_create(order_id=order.pk, memo=credit_memo_defaults(order_id=order.pk))
    drain_actions()
    ack = uploaded_feed(sandbox, "POST_ORDER_ACKNOWLEDGEMENT_DATA").find("Message/OrderAcknowledgement")
    assert {i.findtext("CancelReason") for i in ack.findall("Item")} == {"BuyerCanceled"}
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CANCELED
    assert sandbox.amazon.orders[order_id].status == "Canceled"


def test_processing_report_errors_show_as_error_on_the_order(sandbox, az_account):
    [order_id] = sandbox.amazon.create_orders(count=1)
    import_now(az_account)
    order = Order.objects.get(channel_order_id=order_id)
    sandbox.amazon.channel_ship(order_id)  # shipped on Amazon before our cancel arrives

    order_cancel(order_id=order.pk, reason="out_of_stock")
    drain_actions()

    order.refresh_from_db()
    assert order.sync_state == SyncState.ERROR and "cannot be canceled" in order.sync_error
    assert OrderLog.objects.filter(order=order, type="error", message__contains="has shipped").exists()


def test_a_refund_amazon_refuses_item_by_item_fails_with_every_error_of_its_report_to_2000_characters(
        sandbox, az_account):
    """Amazon lists each item of a message it refuses as an error of its own. A refund of 30 items that
    were refunded on Seller Central already fails with all of them, in the report's order, joined by
    '; ' and cut at 2,000 characters (30 errors are longer), as the action's last error."""
    [order_id] = sandbox.amazon.create_orders(count=1, items=30, qty=1, price="10.00")
    import_now(az_account)
    order = Order.objects.get(channel_order_id=order_id)
    order_ship(order_id=order.pk, tracking=UPS)
    drain_actions()
    for item in sandbox.amazon.orders[order_id].items:
        item.refunded = item.item_price + item.item_tax + item.shipping  # refunded on Seller Central

    memo = credit_memo_create(order_id=order.pk, memo=credit_memo_defaults(order_id=order.pk))
    drain_actions()

    action = memo.channel_actions.get()
    refused = [adjusted.findtext("AmazonOrderItemCode") for adjusted in
               uploaded_feed(sandbox, "POST_PAYMENT_ADJUSTMENT_DATA").iter("AdjustedItem")]
    errors = "; ".join(f"message 1: Adjustment for {item_id} exceeds what was charged (code 25)"
                       for item_id in refused)
    assert len(refused) == 30 and len(errors) > 2000
    assert action.state == ChannelAction.State.FAILED and action.last_error == errors[:2000]
    assert all(item.refunded == item.item_price + item.item_tax + item.shipping
               for item in sandbox.amazon.orders[order_id].items)  # nothing refunded twice


@pytest.mark.parametrize(("kind", "extra"), [("429", {"retry_after_ms": 50}), ("500", {}), ("503", {}),
                                             ("drop", {"when": "after"}), ("timeout", {"delay": 1.0}),
                                             ("malformed", {})])
def test_every_fault_on_a_refund_feed_ends_with_exactly_one_refund(sandbox, az_account, fast_retries, settings,
                                                                   kind, extra):
    settings.CHANNEL_HTTP_READ_TIMEOUT = 0.5
    [order_id] = sandbox.amazon.create_orders(count=1, items=1, qty=1, price="20.00")
    import_now(az_account)
    order = Order.objects.get(channel_order_id=order_id)
    order_ship(order_id=order.pk, tracking=UPS)
    drain_actions()
    sandbox.faults.add(kind=kind, path=r"^/feeds/2021-06-30/feeds$", method="POST", **extra)

    memo = credit_memo_create(order_id=order.pk, memo=credit_memo_defaults(order_id=order.pk))
    drain_actions()

    item = order.items.get()
    assert sandbox.amazon.orders[order_id].items[0].refunded == item.refunded_amount  # applied once
    memo.refresh_from_db()
    assert memo.state == CreditMemo.State.DONE


def test_a_refund_feed_resent_after_amazon_processed_the_lost_one_is_done_once(sandbox, az_account, fast_retries):
    """The answer to createFeed is lost after Amazon took the feed, and Amazon processes that feed
    before the resend arrives: the resend, with the same adjustment ids, is applied once and not
    refused as more than was charged, so the memo ends Done, not Failed for money that was paid."""
    [order_id] = sandbox.amazon.create_orders(count=1, items=1, qty=1, price="20.00")
    import_now(az_account)
    order = Order.objects.get(channel_order_id=order_id)
    order_ship(order_id=order.pk, tracking=UPS)
    drain_actions()
    sandbox.faults.add(kind="drop", path=r"^/feeds/2021-06-30/feeds$", method="POST", when="after")
    memo = credit_memo_create(order_id=order.pk, memo=credit_memo_defaults(order_id=order.pk))
    outbox.process_action(action_id=memo.channel_actions.get().pk)  # the feed reaches Amazon, its answer does not
    sandbox.amazon.process_feeds()  # Amazon processes it on its own

    drain_actions()

    assert len(sandbox.requests.all(method="POST", path=r"^/feeds/2021-06-30/feeds$")) == 2
    item = order.items.get()
    assert sandbox.amazon.orders[order_id].items[0].refunded == item.refunded_amount == memo.grand_total
    memo.refresh_from_db()
    assert memo.state == CreditMemo.State.DONE, memo.error


@pytest.mark.parametrize("kind", ["429", "500", "drop", "timeout"])
def test_every_fault_on_confirm_shipment_ships_once(sandbox, az_account, fast_retries, settings, kind):
    settings.CHANNEL_HTTP_READ_TIMEOUT = 0.5
    [order_id] = sandbox.amazon.create_orders(count=1, qty=2)
    import_now(az_account)
    order = Order.objects.get(channel_order_id=order_id)
    sandbox.faults.add(kind=kind, path="/shipmentConfirmation$", retry_after_ms=50, delay=1.0)
    order_ship(order_id=order.pk, tracking=UPS)
    drain_actions()
    assert sandbox.amazon.orders[order_id].items[0].shipped == 2
    assert ChannelAction.objects.get(order=order).state == "succeeded"


def test_resend_shipping_information_confirms_the_same_items_again(sandbox, az_account):
    from orders.models import Shipment
    from orders.services.shipments import order_resend_shipping

    [order_id] = sandbox.amazon.create_orders(count=1, qty=2)
    import_now(az_account)
    order = Order.objects.get(channel_order_id=order_id)
    order_ship(order_id=order.pk, tracking=UPS)
    drain_actions()
    Shipment.objects.filter(order=order).update(tracking_number="1ZFIXED")

    order_resend_shipping(order_id=order.pk)
    drain_actions()

    [shipment] = Shipment.objects.filter(order=order)
    channel = sandbox.amazon.orders[order_id]
    assert channel.items[0].shipped == 2  # the package edited under its packageReferenceId, not shipped again
    assert channel.packages[str(shipment.pk)]["trackingNumber"] == "1ZFIXED"
    assert ChannelAction.objects.filter(order=order, state="succeeded").count() == 2


def test_a_feed_never_processed_fails_visibly_instead_of_being_polled_forever(sandbox, az_account, settings):
    from orders.outbox import process_due_actions

    [order_id] = sandbox.amazon.create_orders(count=1)
    import_now(az_account)
    order = Order.objects.get(channel_order_id=order_id)
    sandbox.amazon.processing_delay = 3600  # Amazon sits on the feed
    order_cancel(order_id=order.pk, reason="out_of_stock")
    process_due_actions()
    action = ChannelAction.objects.get(order=order)
    assert action.state == "submitted"

    sandbox.faults.add(kind="503", path="/feeds/2021-06-30/feeds/", method="GET", count=3)
    wait_until_due(action)  # its next poll, CHANNEL_FEED_POLL_SECONDS on: a round reads it no sooner
    process_due_actions()
    action.refresh_from_db()
    assert action.state == "submitted" and action.last_error.startswith("reading the outcome: ")

    settings.CHANNEL_FEED_TIMEOUT_HOURS = 0
    drain_actions()
    order.refresh_from_db()
    assert ChannelAction.objects.get(pk=action.pk).state == "failed"
    assert order.sync_state == SyncState.ERROR and "has not processed it" in order.sync_error
    assert OrderLog.objects.filter(order=order, type="error", message__contains="has not processed it").exists()


@pytest.mark.parametrize("orders_api", ["v0", "2026-01-01"])
def test_an_order_shipped_on_seller_central_is_dated_by_amazons_last_update_not_by_our_import(
        sandbox, az_account, orders_api):
    """Amazon gives no ship date for an order the seller shipped on Seller Central: its shipment is
    dated by the order's last update on Amazon (when it was shipped at the latest)."""
    import datetime as dt

    from django.utils import timezone

    az_account.orders_api = orders_api
    az_account.save()
    [order_id] = sandbox.amazon.create_orders(count=1)
    shipped_on_amazon = timezone.now().replace(microsecond=0) - dt.timedelta(hours=3)
    sandbox.amazon.channel_ship(order_id, when=shipped_on_amazon)
    import_now(az_account)

    shipment = Order.objects.get(channel_order_id=order_id).shipments.get()
    assert shipment.tracking_number == "" and shipment.shipped_at == shipped_on_amazon
