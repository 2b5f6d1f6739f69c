"""Orders Walmart shipped in several packages (R-ACC-5): every package it reports — its own
Shipped status with a tracking number and a quantity — is one shipment here, recorded once,
without touching shipments made here, and a resync adds the packages an older import missed."""

import datetime as dt

import pytest
from django.utils import timezone

from channels.sandbox.demo import populate_demo
from cockpit.models import Discrepancy
from cockpit.reconciliation import account_reconcile, discrepancy_resync
from orders.models import Order, OrderLog, Shipment, ShipmentItem, SyncState
from orders.services.errors import OrderActionRefused
from orders.services.importing import account_import_orders
from orders.services.shipments import Tracking, order_ship, shipment_correct
from tests.helpers import drain_actions, ups_tracking

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(wm_account, settings):
    settings.RECONCILE_GRACE_MINUTES = 0  # the channel's changes below are seconds old
    return wm_account


def import_now(account):
    account_import_orders(account_id=account.pk, since=timezone.now() - dt.timedelta(days=1))


def sold(sandbox, account, **create):
    [po] = sandbox.walmart.create_orders(count=1, acknowledged=True, **create)
    import_now(account)
    drain_actions()
    return Order.objects.get(channel_order_id=po)


def packages(order):
    """{(tracking #, source): {sku: units}} of the order's shipments."""
    return {(s.tracking_number, s.source): {row.order_item.sku: row.qty for row in s.items.all()}
            for s in Shipment.objects.filter(order=order).prefetch_related("items__order_item")}


def skus(order):
    return [item.sku for item in order.items.order_by("channel_line_id")]


def test_a_line_shipped_in_several_packages_has_a_shipment_per_package(sandbox, account):
    order = sold(sandbox, account, qty=3)
    sandbox.walmart.channel_ship(order.channel_order_id, qty=1, tracking_number="1ZFIRSTBOX")
    sandbox.walmart.channel_ship(order.channel_order_id, tracking_number="1ZSECONDBOX")

    import_now(account)

    [sku] = skus(order)
    channel = Shipment.Source.CHANNEL
    assert packages(order) == {("1ZFIRSTBOX", channel): {sku: 1}, ("1ZSECONDBOX", channel): {sku: 2}}
    assert OrderLog.objects.filter(order=order, message__startswith="Shipment recorded from Walmart").count() == 2


def test_a_package_shipped_after_the_first_import_is_added_to_it(sandbox, account):
    order = sold(sandbox, account, qty=3)
    sandbox.walmart.channel_ship(order.channel_order_id, qty=1, tracking_number="1ZFIRSTBOX")
    import_now(account)
    sandbox.walmart.channel_ship(order.channel_order_id, tracking_number="1ZSECONDBOX")

    import_now(account)

    [sku] = skus(order)
    channel = Shipment.Source.CHANNEL
    assert packages(order) == {("1ZFIRSTBOX", channel): {sku: 1}, ("1ZSECONDBOX", channel): {sku: 2}}


def test_packages_across_lines_each_hold_their_own_lines(sandbox, account):
    separately = sold(sandbox, account, lines=2, qty=2)
    together = sold(sandbox, account, lines=2, qty=2)
    sandbox.walmart.channel_ship(separately.channel_order_id)  # one package per line
    sandbox.walmart.channel_ship(together.channel_order_id, tracking_number="1ZONEBOX")

    import_now(account)

    first, second = skus(separately)
    po = separately.channel_order_id
    channel = Shipment.Source.CHANNEL
    assert packages(separately) == {(f"1Z{po}1", channel): {first: 2}, (f"1Z{po}2", channel): {second: 2}}
    assert packages(together) == {("1ZONEBOX", channel): dict.fromkeys(skus(together), 2)}


def test_importing_again_adds_no_shipment(sandbox, account):
    order = sold(sandbox, account, lines=2, qty=3)
    sandbox.walmart.channel_ship(order.channel_order_id, qty=1)
    sandbox.walmart.channel_ship(order.channel_order_id)
    import_now(account)
    before = (packages(order), ShipmentItem.objects.count(), OrderLog.objects.filter(order=order).count())
    assert len(before[0]) == 4

    import_now(account)
    sandbox.walmart.orders[order.channel_order_id].touch()  # changed on the channel since: read anew
    sandbox.walmart.changed()
    import_now(account)

    assert (packages(order), ShipmentItem.objects.count(), OrderLog.objects.filter(order=order).count()) == before


def test_a_shipment_sent_from_here_comes_back_as_itself(sandbox, account):
    order = sold(sandbox, account, qty=3)
    [item] = order.items.all()
    sent = order_ship(order_id=order.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(7)),
                      quantities={item.pk: 2})
    drain_actions()
    sent.refresh_from_db()
    as_sent = (sent.carrier, sent.tracking_number, sent.shipped_at, sent.sync_state)
    sandbox.walmart.channel_ship(order.channel_order_id, tracking_number="1ZONWALMARTSITE")  # the last unit

    import_now(account)
    import_now(account)

    assert packages(order) == {(ups_tracking(7), Shipment.Source.OPERATOR): {item.sku: 2},
                               ("1ZONWALMARTSITE", Shipment.Source.CHANNEL): {item.sku: 1}}
    sent.refresh_from_db()
    assert (sent.carrier, sent.tracking_number, sent.shipped_at, sent.sync_state) == as_sent
    assert as_sent[3] == SyncState.OK


def test_units_walmart_adds_to_a_package_sent_from_here_leave_its_shipment_as_made(sandbox, account):
    order = sold(sandbox, account, qty=3)
    [item] = order.items.all()
    order_ship(order_id=order.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(8)),
               quantities={item.pk: 1})
    drain_actions()
    sandbox.walmart.channel_ship(order.channel_order_id, tracking_number=ups_tracking(8))  # the rest, same box

    import_now(account)

    assert packages(order) == {(ups_tracking(8), Shipment.Source.OPERATOR): {item.sku: 1}}


def test_a_tracking_corrected_here_is_not_imported_again_as_another_package(sandbox, account):
    order = sold(sandbox, account, qty=2)
    sandbox.walmart.channel_ship(order.channel_order_id, tracking_number="1ZTYPO")
    import_now(account)
    [reported] = Shipment.objects.filter(order=order)
    shipment_correct(shipment_id=reported.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(9)))
    sandbox.walmart.orders[order.channel_order_id].touch()
    sandbox.walmart.changed()

    import_now(account)

    assert packages(order) == {(ups_tracking(9), Shipment.Source.CHANNEL): {skus(order)[0]: 2}}


def test_demo_orders_shipped_in_several_packages_need_no_attention(sandbox, account):
    account.create_store_order = False  # nothing on its way to the channel: every order is compared
    account.save()
    populate_demo(sandbox, orders=100)
    import_now(account)
    several = [order for order in Order.objects.filter(account=account) if order.shipments.count() > 1]
    assert several  # the demo ships orders of several lines, a package per line

    run = account_reconcile(account_id=account.pk)

    assert (run.orders_checked, run.differences) == (50, 0), list(Discrepancy.objects.values_list("summary", flat=True))


# -- orders imported before every package was read -----------------------------------------------------

def imported_before_packages(sandbox, account, **create):
    """An order shipped on Walmart and imported as imports did before: no shipments yet (made below)."""
    account.auto_shipment = False
    account.save()
    return sold(sandbox, account, **create)


def old_import_shipment(order, tracking_number):
    """The one shipment the older import recorded: every shipped unit under the first tracking number."""
    shipment = Shipment.objects.create(order=order, source=Shipment.Source.CHANNEL, carrier="UPS",
                                       shipping_method="Standard", tracking_number=tracking_number,
                                       shipped_at=timezone.now())
    for item in order.items.all():
        ShipmentItem.objects.create(shipment=shipment, order_item=item, qty=item.qty_shipped)
    return shipment


def resync(account, order):
    account.auto_shipment = True
    account.save()
    account_reconcile(account_id=account.pk)
    discrepancy = Discrepancy.objects.get(order=order, resolved_at__isnull=True)
    assert discrepancy.differences[0]["field"] == "tracking"
    return discrepancy_resync(discrepancy_id=discrepancy.pk)


def test_resync_sorts_an_older_imports_one_shipment_into_its_packages_across_lines(sandbox, account):
    order = imported_before_packages(sandbox, account, lines=2, qty=2)
    po = order.channel_order_id
    sandbox.walmart.channel_ship(po)
    import_now(account)
    old = old_import_shipment(order, f"1Z{po}1")

    assert resync(account, order).resolved_at is not None

    first, second = skus(order)
    channel = Shipment.Source.CHANNEL
    assert packages(order) == {(f"1Z{po}1", channel): {first: 2}, (f"1Z{po}2", channel): {second: 2}}
    assert Shipment.objects.get(pk=old.pk).tracking_number == f"1Z{po}1"  # kept, holding its own package only
    log = OrderLog.objects.get(order=order, message__startswith="Shipment recorded from Walmart")
    assert log.message == (f"Shipment recorded from Walmart (UPS 1Z{po}2): {second} × 2. Moved from shipment "
                           f"#{old.pk} (UPS 1Z{po}1), which Walmart reports without them.")


def test_resync_splits_an_older_imports_one_shipment_of_a_line_into_its_packages(sandbox, account):
    order = imported_before_packages(sandbox, account, qty=3)
    sandbox.walmart.channel_ship(order.channel_order_id, qty=1, tracking_number="1ZFIRSTBOX")
    sandbox.walmart.channel_ship(order.channel_order_id, tracking_number="1ZSECONDBOX")
    import_now(account)
    old_import_shipment(order, "1ZFIRSTBOX")

    resync(account, order)

    [sku] = skus(order)
    channel = Shipment.Source.CHANNEL
    assert packages(order) == {("1ZFIRSTBOX", channel): {sku: 1}, ("1ZSECONDBOX", channel): {sku: 2}}


def test_resync_adds_a_package_missing_here(sandbox, account):
    order = sold(sandbox, account, lines=2, qty=1)
    po = order.channel_order_id
    sandbox.walmart.channel_ship(po)
    import_now(account)
    Shipment.objects.filter(order=order, tracking_number=f"1Z{po}2").delete()  # as if never recorded

    resync(account, order)

    first, second = skus(order)
    channel = Shipment.Source.CHANNEL
    assert packages(order) == {(f"1Z{po}1", channel): {first: 1}, (f"1Z{po}2", channel): {second: 1}}
    assert OrderLog.objects.filter(order=order, message=f"Shipment recorded from Walmart (UPS 1Z{po}2): "
                                                        f"{second} × 1.").exists()


# -- correcting one package of a line shipped in several -----------------------------------------------
# Walmart's public model (Ship order lines, orderLineStatus.currentTrackingInfo): once a line is shipped,
# a PARTIAL_UPDATE names the package to change by the tracking number Walmart has for it; a second ship
# of shipped units without PARTIAL_UPDATE is "Qty OverShipped".

def test_correcting_one_of_two_packages_of_a_line_leaves_the_other_as_it_was(sandbox, account):
    order = sold(sandbox, account, qty=2)
    [item] = order.items.all()
    first = order_ship(order_id=order.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(1)),
                       quantities={item.pk: 1})
    order_ship(order_id=order.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(2)),
               quantities={item.pk: 1})
    drain_actions()

    shipment_correct(shipment_id=first.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(3)))
    drain_actions()

    update = sandbox.requests.all(method="POST", path="/shipping$")[-1].body["orderShipment"]
    [status] = update["orderLines"]["orderLine"][0]["orderLineStatuses"]["orderLineStatus"]
    assert (update["processMode"], status["currentTrackingInfo"], status["statusQuantity"]["amount"]) == (
        "PARTIAL_UPDATE", {"trackingNumber": ups_tracking(1)}, "1")
    line = sandbox.walmart.orders[order.channel_order_id].lines[0]
    assert [(p["qty"], p["trackingInfo"]["trackingNumber"]) for p in line.packages] == [
        (1, ups_tracking(3)), (1, ups_tracking(2))]
    order.refresh_from_db()
    assert order.sync_state == SyncState.OK

    shipment_correct(shipment_id=first.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(4)))
    drain_actions()  # the package is now named by its corrected number
    assert [p["trackingInfo"]["trackingNumber"] for p in line.packages] == [ups_tracking(4), ups_tracking(2)]


def test_two_shipments_of_a_line_under_one_tracking_number_cannot_be_corrected_one_alone(sandbox, account):
    order = sold(sandbox, account, qty=2)
    [item] = order.items.all()
    first, second = (order_ship(order_id=order.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(1)),
                                quantities={item.pk: 1}) for _ in range(2))
    drain_actions()
    sent = len(sandbox.requests.all(method="POST", path="/shipping$"))

    with pytest.raises(OrderActionRefused) as refused:
        shipment_correct(shipment_id=first.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(3)))

    assert str(refused.value).startswith(f"Walmart keeps shipment #{first.pk} and shipment #{second.pk} as one "
                                         f"package of the same line (tracking # {ups_tracking(1)})")
    first.refresh_from_db()
    assert first.tracking_number == ups_tracking(1)
    assert len(sandbox.requests.all(method="POST", path="/shipping$")) == sent  # nothing sent
    [package] = sandbox.walmart.orders[order.channel_order_id].lines[0].packages
    assert (package["qty"], package["trackingInfo"]["trackingNumber"]) == (2, ups_tracking(1))
