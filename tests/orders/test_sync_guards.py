"""Guards between our records and the channel's that no other test pinned down: re-imports never
lower what was refunded nor apply older data, the import window overlaps, an Amazon adjustment
keeps its id when resent, stock follows shipments and cancels, over-shipping and an unrequested
"buyer canceled" are refused in words."""

import datetime as dt
from decimal import Decimal
import xml.etree.ElementTree as ET

import pytest
from django.conf import settings

from channels.models import ChannelAccount
from creditmemos.rules import MemoInput
from creditmemos.services import credit_memo_create
from orders.models import ChannelAction, Order, OrderItem, OrderStatus, Product, Shipment
from orders.services.cancel import order_cancel
from orders.services.errors import OrderActionRefused
from orders.services.importing import account_import_orders
from orders.services.shipments import Tracking, order_ship
from orders.services.store_orders import order_create_store_order
from tests.factories import ProductFactory
from tests.helpers import drain_actions, ups_tracking
from tests.money import Line, item_ids, order_with_lines

pytestmark = pytest.mark.django_db
UPS = Tracking(carrier="UPS", tracking_number=ups_tracking(7))


def imported_walmart_order(sandbox, account, **create) -> tuple[Order, object]:
    [po] = sandbox.walmart.create_orders(count=1, **create)
    account_import_orders(account_id=account.pk)
    return Order.objects.get(channel_order_id=po), sandbox.walmart.orders[po]


def reimport(account) -> None:
    """The next incremental run, as beat would start it."""
    account_import_orders(account_id=account.pk)


# -- re-import --------------------------------------------------------------------------------------

def test_reimport_never_lowers_a_refunded_amount(sandbox, wm_account):
    """A local-only memo (R-ACC-3) refunded 10.80; Walmart, which never saw it, shows 0 refunded."""
    order, channel = imported_walmart_order(sandbox, wm_account, qty=1, price="10.00")
    order_ship(order_id=order.pk, tracking=UPS)
    drain_actions()
    ChannelAccount.objects.filter(pk=wm_account.pk).update(refund_on_credit_memo=False)
    [item_id] = item_ids(order)
    credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={item_id: 1}))
    refunded = OrderItem.objects.get(pk=item_id).refunded_amount
    assert refunded > 0 and channel.lines[0].refunded == 0

    channel.touch()  # the order changes on Walmart, so the next run reads it again
    sandbox.walmart.changed()
    reimport(wm_account)

    assert OrderItem.objects.get(pk=item_id).refunded_amount == refunded
    assert Order.objects.get(pk=order.pk).refunded_total == refunded


def test_a_refund_made_on_walmart_beyond_our_memos_is_recorded_on_the_line_and_the_order_and_said(sandbox, wm_account):
    """Walmart refunded 3.00 that no memo of ours asked for (on its site, or a refund sent twice): the
    money left the merchant, so the line and the order count it, and the Order Log says it."""
    from channels.clients import RefundLine, RefundRequest
    from channels.registry import client_for

    order, channel = imported_walmart_order(sandbox, wm_account, qty=2, price="10.00")
    order_ship(order_id=order.pk, tracking=UPS)
    drain_actions()
    [item_id] = item_ids(order)
    credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={item_id: 1}))
    drain_actions()
    ours = OrderItem.objects.get(pk=item_id).refunded_amount
    client_for(wm_account).refund(order.channel_order_id, RefundRequest(
        lines=(RefundLine(line_number="1", qty=0, amount=Decimal("3.00")),), reason="DamagedItem"))

    reimport(wm_account)

    item = OrderItem.objects.get(pk=item_id)
    assert item.refunded_amount == ours + Decimal("3.00") == -channel.lines[0].refunded
    assert Order.objects.get(pk=order.pk).refunded_total == ours + Decimal("3.00")
    assert order.logs.filter(type="warning", message=f"Walmart shows {item.refunded_amount} USD refunded on {item.sku}, "
                             "3.00 more than this order's credit memos refunded there (a refund made on Walmart, or "
                             "one sent twice): recorded as refunded.").exists()


def test_reimport_skips_channel_data_older_than_what_was_applied(sandbox, wm_account):
    order, channel = imported_walmart_order(sandbox, wm_account, qty=1)
    sandbox.walmart.channel_ship(order.channel_order_id)
    reimport(wm_account)
    shipped = Order.objects.get(pk=order.pk)
    assert shipped.channel_status == "Shipped" and shipped.status == OrderStatus.SHIPPED

    # A lagging read: the order as it was before the shipment, stamped before what we applied.
    channel.lines[0].shipped, channel.lines[0].packages = 0, []
    channel.last_modified = shipped.channel_updated_at - dt.timedelta(seconds=5)
    sandbox.walmart.changed()
    account_import_orders(account_id=wm_account.pk, since=channel.last_modified - dt.timedelta(minutes=1))

    after = Order.objects.get(pk=order.pk)
    assert (after.channel_status, after.channel_updated_at, after.status) == (
        "Shipped", shipped.channel_updated_at, OrderStatus.SHIPPED)
    assert after.items.get().channel_line_status == shipped.items.get().channel_line_status


def test_import_window_overlaps_the_previous_run(sandbox, wm_account):
    """A change Walmart stamps shortly before our last run's start (its clock, its replication lag)
    is still read by the next run."""
    [po] = sandbox.walmart.create_orders(count=1)
    channel = sandbox.walmart.orders[po]
    channel.last_modified -= dt.timedelta(minutes=10)
    sandbox.walmart.changed()
    account_import_orders(account_id=wm_account.pk)
    order = Order.objects.get(channel_order_id=po)
    cursor = ChannelAccount.objects.get(pk=wm_account.pk).last_import_cursor
    sandbox.walmart.channel_ship(order.channel_order_id)
    channel.last_modified = cursor - dt.timedelta(seconds=settings.IMPORT_OVERLAP_SECONDS / 2)
    sandbox.walmart.changed()
    sandbox.requests.clear()

    reimport(wm_account)

    assert Order.objects.get(pk=order.pk).status == OrderStatus.SHIPPED
    listing = sandbox.requests.all(method="GET", path="^/v3/orders$")[0]
    since = dt.datetime.fromisoformat(listing.query["lastModifiedStartDate"][0].replace("Z", "+00:00"))
    assert abs((cursor - since).total_seconds() - settings.IMPORT_OVERLAP_SECONDS) < 1


# -- Amazon adjustments keep their id ---------------------------------------------------------------

def test_amazon_refund_resent_carries_the_same_adjustment_ids(sandbox, az_account, fast_retries):
    [order_id] = sandbox.amazon.create_orders(count=1, items=1, qty=2, price="20.00")
    account_import_orders(account_id=az_account.pk)
    order = Order.objects.get(channel_order_id=order_id)
    order_ship(order_id=order.pk, tracking=UPS)
    drain_actions()
    sandbox.faults.add(kind="500", path=r"^/feeds/2021-06-30/feeds$", method="POST")  # first attempt refused

    credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={item_ids(order)[0]: 2}))
    drain_actions()

    adjustment_ids = []
    for document in sandbox.amazon.documents.values():
        root = ET.fromstring(document["content"])
        ids = [e.text for e in root.iter("MerchantAdjustmentItemID")]
        if ids:
            adjustment_ids.append(ids)
    assert len(adjustment_ids) == 2 and adjustment_ids[0] == adjustment_ids[1]
    assert ChannelAction.objects.get(order=order, kind="refund").attempts == 2
    assert sandbox.amazon.orders[order_id].items[0].refunded == OrderItem.objects.get(order=order).refunded_amount


# -- stock ------------------------------------------------------------------------------------------

def store_order(account, *, qty: int, stock: int = 10) -> tuple[Order, Product]:
    product = ProductFactory(stock_qty=stock)
    order = order_with_lines(account, Line(qty=qty, price="10.00"))
    OrderItem.objects.filter(order=order).update(sku=product.sku)
    order_create_store_order(order_id=order.pk)
    product.refresh_from_db()
    assert product.reserved_qty == qty
    return order, product


def test_r_ord_2_shipping_takes_units_out_of_stock_and_ends_their_reservation(walmart_account):
    order, product = store_order(walmart_account, qty=3)
    order_ship(order_id=order.pk, tracking=UPS, quantities={item_ids(order)[0]: 2})
    product.refresh_from_db()
    assert (product.stock_qty, product.reserved_qty) == (8, 1)
    assert OrderItem.objects.get(order=order).qty_reserved == 1


def test_r_ord_2_cancel_releases_its_reservation(walmart_account):
    order, product = store_order(walmart_account, qty=3)
    order_cancel(order_id=order.pk, reason="out_of_stock")
    product.refresh_from_db()
    assert (product.stock_qty, product.reserved_qty) == (10, 0)
    assert OrderItem.objects.get(order=order).qty_reserved == 0


def test_r_ord_2_memo_cancel_releases_the_reservation_of_its_units(walmart_account):
    order, product = store_order(walmart_account, qty=3)
    credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={item_ids(order)[0]: 2}))
    product.refresh_from_db()
    assert (product.stock_qty, product.reserved_qty) == (10, 1)


# -- refusals in words, never a database error ------------------------------------------------------

def test_r_ship_over_shipping_is_refused_before_the_database_sees_it(walmart_account):
    order = order_with_lines(walmart_account, Line(qty=2, price="10.00", shipped=1))
    with pytest.raises(OrderActionRefused) as refused:
        order_ship(order_id=order.pk, tracking=UPS, quantities={item_ids(order)[0]: 2})
    assert "cannot ship more than the open quantity" in str(refused.value) and "2 asked, 1 open" in str(refused.value)
    assert not Shipment.objects.filter(order=order).exists()
    assert OrderItem.objects.get(order=order).qty_shipped == 1


@pytest.mark.parametrize("reason", ["buyer_requested", "CUSTOMER_REQUESTED_SELLER_TO_CANCEL"])
def test_r_cm_4_walmart_buyer_canceled_needs_the_buyers_request(walmart_account, reason):
    order = order_with_lines(walmart_account, Line(qty=1, price="10.00"))
    with pytest.raises(OrderActionRefused) as refused:
        order_cancel(order_id=order.pk, reason=reason)
    assert "the buyer did not request cancellation" in str(refused.value)
    assert OrderItem.objects.get(order=order).qty_canceled == 0
    assert not ChannelAction.objects.filter(order=order, kind="cancel").exists()


def test_r_cm_4_amazon_buyer_canceled_needs_the_buyers_request(amazon_account):
    order = order_with_lines(amazon_account, Line(qty=1, price="10.00"), Line(qty=1, price="5.00",
                                                                            buyer_cancel_requested=True))
    with pytest.raises(OrderActionRefused):
        order_cancel(order_id=order.pk, reason="BuyerCanceled")  # one line was not asked for
    order_cancel(order_id=order.pk, reason="NoInventory")
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CANCELED


# -- a change the channel refused because it did otherwise first ------------------------------------

def test_a_cancel_walmart_refused_because_it_shipped_first_gives_way_to_walmarts_shipment(sandbox, wm_account):
    """The seller shipped on Walmart's site; our cancel, queued before the import saw it, is refused
    for good. The next import takes Walmart's quantities and its package instead of keeping our
    unconfirmed cancel for ever (with a warning at every import)."""
    wm_account.create_store_order = False
    wm_account.save()
    order, on_walmart = imported_walmart_order(sandbox, wm_account, acknowledged=True)
    sandbox.walmart.channel_ship(order.channel_order_id, tracking_number="1ZCHANNELSIDE0001")
    order_cancel(order_id=order.pk, reason="SELLER_CANCEL_OUT_OF_STOCK")
    drain_actions()
    assert ChannelAction.objects.get(order=order, kind="cancel").state == ChannelAction.State.FAILED

    Order.objects.filter(pk=order.pk).update(channel_updated_at=None)  # as if read before the shipment
    reimport(wm_account)
    reimport(wm_account)

    order = Order.objects.get(pk=order.pk)
    item = order.items.get()
    assert (item.qty_shipped, item.qty_canceled) == (item.qty_ordered, 0)
    assert order.status == OrderStatus.SHIPPED
    assert order.shipments.get().tracking_number == "1ZCHANNELSIDE0001"
    taken = order.logs.filter(message__contains="our change of these units failed on Walmart")
    assert taken.count() == 1 and not order.logs.filter(message__contains="kept the local ones").exists()


def test_a_refused_change_gives_way_only_when_nothing_of_ours_is_still_on_its_way(sandbox, wm_account):
    """The cancel was refused, but another change of ours is still being sent: the conflict may be
    that change's, so ours is kept (with the warning) until it settles."""
    from tests.factories import ChannelActionFactory

    wm_account.create_store_order = False
    wm_account.save()
    order, _ = imported_walmart_order(sandbox, wm_account, acknowledged=True)
    sandbox.walmart.channel_ship(order.channel_order_id)
    order_cancel(order_id=order.pk, reason="SELLER_CANCEL_OUT_OF_STOCK")
    drain_actions()
    assert ChannelAction.objects.get(order=order, kind="cancel").state == ChannelAction.State.FAILED
    ChannelActionFactory(order=order, state=ChannelAction.State.PENDING)

    Order.objects.filter(pk=order.pk).update(channel_updated_at=None)
    reimport(wm_account)

    item = Order.objects.get(pk=order.pk).items.get()
    assert (item.qty_shipped, item.qty_canceled) == (0, item.qty_ordered)
    assert order.logs.filter(message__contains="kept the local ones").exists()


def test_local_quantities_stay_while_our_change_is_on_its_way(sandbox, wm_account):
    """The same conflict with the cancel still being tried: ours is kept, with a warning."""
    wm_account.create_store_order = False
    wm_account.save()
    order, _ = imported_walmart_order(sandbox, wm_account, acknowledged=True)
    sandbox.walmart.channel_ship(order.channel_order_id)
    order_cancel(order_id=order.pk, reason="SELLER_CANCEL_OUT_OF_STOCK")  # queued, not sent

    Order.objects.filter(pk=order.pk).update(channel_updated_at=None)
    reimport(wm_account)

    item = Order.objects.get(pk=order.pk).items.get()
    assert (item.qty_shipped, item.qty_canceled) == (0, item.qty_ordered)
    assert order.logs.filter(message__contains="kept the local ones").exists()
