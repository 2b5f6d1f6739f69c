"""A shipment the channel refused for good (for a reason no check here could foresee) does not leave
its units shipped here for ever: the operator corrects it — any field, the method included — and
it is sent again, or withdraws it, which gives its units (and their stock) back to ship, writes the
Order Log and keeps the shipment as history. One the channel accepted, or may have, is not
withdrawn. Against the sandbox, whose 400 fault is such a refusal."""

import datetime as dt

import pytest
from django.utils import timezone

from orders import outbox
from orders.models import ChannelAction, Order, OrderLog, OrderStatus, Product, Shipment, ShipmentItem, SyncState
from orders.selectors import order_detail
from orders.services.cancel import order_cancel
from orders.services.errors import OrderActionRefused
from orders.services.importing import account_import_orders
from orders.services.shipments import Tracking, order_ship, shipment_correct, shipment_withdraw
from orders.status import order_status_shown
from tests.factories import ProductFactory
from tests.helpers import drain_actions, run_concurrently, ups_tracking

pytestmark = pytest.mark.django_db
State = ChannelAction.State
SHIPPING = "/shipping$"


def sold(sandbox, account, *, qty=2, sku="WIDGET-1", stock=10):
    """A Walmart order of `qty` units of a stocked product, imported with its store order."""
    ProductFactory(sku=sku, stock_qty=stock)
    [po] = sandbox.walmart.create_orders(count=1, qty=qty, skus=[sku], acknowledged=True)
    account_import_orders(account_id=account.pk, since=timezone.now() - dt.timedelta(days=1))
    drain_actions()
    return Order.objects.get(channel_order_id=po)


def refused_shipment(sandbox, order, **tracking):
    """Shipped here, refused for good by Walmart (its 400: nothing we could have checked first)."""
    sandbox.faults.add(kind="400", path=SHIPPING)
    shipment = order_ship(order_id=order.pk, tracking=Tracking(**{"carrier": "UPS", "tracking_number": ups_tracking(1),
                                                                  **tracking}))
    drain_actions()
    assert ChannelAction.objects.get(shipment=shipment).state == State.FAILED
    return shipment


def shown_status(order):
    order = order_detail(order_id=order.pk)
    return order_status_shown(order, order.unsettled_actions)


def test_a_refused_shipment_withdrawn_gives_its_units_and_stock_back_and_stays_as_history(sandbox, wm_account):
    order = sold(sandbox, wm_account)
    product = Product.objects.get(sku="WIDGET-1")
    assert (product.stock_qty, product.reserved_qty) == (10, 2)
    shipment = refused_shipment(sandbox, order)
    [item] = order.items.all()
    product.refresh_from_db()
    assert (item.qty_open, product.stock_qty, product.reserved_qty) == (0, 8, 0)  # shipped here, for ever
    with pytest.raises(OrderActionRefused, match="^nothing left to cancel"):
        order_cancel(order_id=order.pk, reason="out_of_stock")
    assert shown_status(order).confirmed == OrderStatus.UNSHIPPED  # what Walmart confirmed: nothing shipped

    shipment_withdraw(shipment_id=shipment.pk)

    item.refresh_from_db()
    product.refresh_from_db()
    shipment.refresh_from_db()
    assert (item.qty_shipped, item.qty_open, item.qty_reserved) == (0, 2, 2)
    assert (product.stock_qty, product.reserved_qty) == (10, 2)  # back on the shelf, held for the store order
    assert shipment.withdrawn_at is not None
    assert ShipmentItem.objects.filter(shipment=shipment, qty=2).exists()  # the history: nothing deleted
    assert ChannelAction.objects.get(shipment=shipment).state == State.WITHDRAWN
    order.refresh_from_db()
    assert (order.status, order.sync_state, order.sync_error) == (OrderStatus.UNSHIPPED, SyncState.OK, "")
    assert shown_status(order).confirmed == OrderStatus.UNSHIPPED and not shown_status(order).error
    assert OrderLog.objects.filter(order=order, message=(
        f"Shipment #{shipment.pk} (UPS {ups_tracking(1)}) withdrawn: Walmart never accepted it; WIDGET-1 × 2 back "
        "to ship. Their stock is back on the shelf.")).exists()
    # The status Walmart confirmed never changed: the log does not say it did.
    assert OrderLog.objects.filter(order=order, message="Status stays Unshipped: Walmart never confirmed the "
                                   "change to Shipped, now withdrawn.").exists()
    assert not OrderLog.objects.filter(order=order, message__startswith="Status changed from Shipped").exists()

    drain_actions()
    assert len(sandbox.requests.all(method="POST", path=SHIPPING)) == 1  # the refused one, never sent again
    order_cancel(order_id=order.pk, reason="out_of_stock")  # the units are open: cancel takes them
    drain_actions()
    assert sandbox.walmart.orders[order.channel_order_id].lines[0].cancelled == 2
    with pytest.raises(OrderActionRefused, match="is withdrawn already"):
        shipment_withdraw(shipment_id=shipment.pk)


def test_withdrawn_units_can_be_shipped_again(sandbox, wm_account):
    order = sold(sandbox, wm_account)
    shipment = refused_shipment(sandbox, order)
    shipment_withdraw(shipment_id=shipment.pk)

    again = order_ship(order_id=order.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(2)))
    drain_actions()

    line = sandbox.walmart.orders[order.channel_order_id].lines[0]
    assert (line.shipped, line.tracking["trackingNumber"]) == (2, ups_tracking(2))
    order.refresh_from_db()
    assert (order.status, order.sync_state) == (OrderStatus.SHIPPED, SyncState.OK)
    assert ChannelAction.objects.get(shipment=again).state == State.SUCCEEDED


def test_a_shipment_the_channel_accepted_cannot_be_withdrawn(sandbox, wm_account):
    order = sold(sandbox, wm_account)
    shipment = order_ship(order_id=order.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(1)))
    drain_actions()

    with pytest.raises(OrderActionRefused) as refused:
        shipment_withdraw(shipment_id=shipment.pk)

    assert str(refused.value) == (f"Walmart accepted shipment #{shipment.pk}, so it cannot be withdrawn: if its "
                                  "tracking is wrong, correct the shipment instead")
    shipment.refresh_from_db()
    assert shipment.withdrawn_at is None and order.items.get().qty_shipped == 2


def test_a_shipment_the_channel_reported_cannot_be_withdrawn(sandbox, wm_account):
    order = sold(sandbox, wm_account)
    sandbox.walmart.channel_ship(order.channel_order_id, tracking_number="1ZSHIPPEDTHERE")
    account_import_orders(account_id=wm_account.pk, since=timezone.now() - dt.timedelta(days=1))
    [reported] = Shipment.objects.filter(order=order)

    with pytest.raises(OrderActionRefused, match="^Walmart reported shipment"):
        shipment_withdraw(shipment_id=reported.pk)


def test_correcting_a_refused_shipment_sends_it_again_with_every_field_the_method_included(sandbox, wm_account):
    order = sold(sandbox, wm_account)
    shipment = refused_shipment(sandbox, order)
    [refused] = ChannelAction.objects.filter(shipment=shipment)

    shipment_correct(shipment_id=shipment.pk, tracking=Tracking(
        carrier="FedEx", method="Express", tracking_number="123456789012", tracking_url="https://fedex.example/1"))
    drain_actions()

    sent = sandbox.requests.all(method="POST", path=SHIPPING)[-1].body["orderShipment"]
    assert "processMode" not in sent  # a shipment Walmart never took is shipped, not updated
    [package] = sandbox.walmart.orders[order.channel_order_id].lines[0].packages
    assert package["qty"] == 2
    assert (package["trackingInfo"]["trackingNumber"], package["trackingInfo"]["methodCode"],
            package["trackingInfo"]["carrierName"]) == ("123456789012", "Express", {"carrier": "FedEx"})
    refused.refresh_from_db()
    assert refused.state == State.WITHDRAWN  # replaced, not retried with the old tracking
    shipment.refresh_from_db()
    assert (shipment.shipping_method, shipment.sync_state) == ("Express", SyncState.OK)
    order.refresh_from_db()
    assert (order.sync_state, shown_status(order).confirmed) == (SyncState.OK, OrderStatus.SHIPPED)
    log = OrderLog.objects.get(order=order, message__startswith=f"Shipment #{shipment.pk} corrected")
    assert "shipping method Standard → Express" in log.message
    assert OrderLog.objects.filter(order=order, message__endswith="withdrawn and replaced by the correction; not sent "
                                   "to Walmart.").count() == 1


def test_a_refused_tracking_update_is_replaced_by_the_next_correction(sandbox, wm_account):
    order = sold(sandbox, wm_account)
    shipment = order_ship(order_id=order.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(1)))
    drain_actions()
    sandbox.faults.add(kind="400", path=SHIPPING)
    shipment_correct(shipment_id=shipment.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(2)))
    drain_actions()
    assert ChannelAction.objects.filter(shipment=shipment, state=State.FAILED).count() == 1

    shipment_correct(shipment_id=shipment.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(3)))
    drain_actions()

    [package] = sandbox.walmart.orders[order.channel_order_id].lines[0].packages
    assert package["trackingInfo"]["trackingNumber"] == ups_tracking(3)
    assert list(ChannelAction.objects.filter(shipment=shipment).order_by("pk").values_list("state", flat=True)) == [
        State.SUCCEEDED, State.WITHDRAWN, State.SUCCEEDED]
    order.refresh_from_db()
    assert order.sync_state == SyncState.OK


def test_a_withdrawal_while_the_ship_waits_for_its_retry_is_never_sent(sandbox, wm_account, fast_retries):
    order = sold(sandbox, wm_account)
    sandbox.faults.add(kind="429", path=SHIPPING, retry_after_ms=300)
    shipment = order_ship(order_id=order.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(1)))
    outbox.process_due_actions()
    action = ChannelAction.objects.get(shipment=shipment)
    assert (action.state, action.needs_verification) == (State.PENDING, False)  # refused before anything applied

    shipment_withdraw(shipment_id=shipment.pk)
    action.refresh_from_db()
    ChannelAction.objects.filter(pk=action.pk).update(next_attempt_at=timezone.now())  # its retry is due

    assert outbox.process_action(action_id=action.pk) is None  # no worker can claim it
    drain_actions()
    assert len(sandbox.requests.all(method="POST", path=SHIPPING)) == 1
    assert sandbox.walmart.orders[order.channel_order_id].lines[0].open == 2
    assert ChannelAction.objects.get(pk=action.pk).state == State.WITHDRAWN


@pytest.mark.parametrize("state, needs_verification, refusal", [
    (State.IN_FLIGHT, False, "is being sent to Walmart right now"),
    (State.PENDING, True, "an earlier attempt to send shipment #{pk} may have reached Walmart"),
    (State.FAILED, True, "an earlier attempt to send shipment #{pk} may have reached Walmart"),
])
def test_a_shipment_that_may_be_on_the_channel_is_not_withdrawn_or_replaced(sandbox, wm_account, state,
                                                                             needs_verification, refusal):
    order = sold(sandbox, wm_account)
    shipment = order_ship(order_id=order.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(1)))
    ChannelAction.objects.filter(shipment=shipment).update(state=state, needs_verification=needs_verification)

    for change in (lambda: shipment_withdraw(shipment_id=shipment.pk),
                   lambda: shipment_correct(shipment_id=shipment.pk,
                                            tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(2)))):
        with pytest.raises(OrderActionRefused, match=refusal.format(pk=shipment.pk)):
            change()

    shipment.refresh_from_db()
    assert (shipment.withdrawn_at, shipment.tracking_number) == (None, ups_tracking(1))
    assert ChannelAction.objects.get(shipment=shipment).state == state


def test_a_timed_out_ship_is_checked_on_the_channel_not_withdrawn(sandbox, wm_account, fast_retries, settings):
    """Walmart took it but the answer never came: only the read-back can tell, so no withdrawal."""
    settings.CHANNEL_HTTP_READ_TIMEOUT = 0.3
    order = sold(sandbox, wm_account)
    sandbox.faults.add(kind="timeout", path=SHIPPING, delay=0.6)
    shipment = order_ship(order_id=order.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(1)))
    outbox.process_due_actions()

    with pytest.raises(OrderActionRefused, match="may have reached Walmart"):
        shipment_withdraw(shipment_id=shipment.pk)
    drain_actions()

    assert ChannelAction.objects.get(shipment=shipment).state == State.SUCCEEDED
    assert sandbox.walmart.orders[order.channel_order_id].lines[0].shipped == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_withdrawal_racing_a_worker_never_leaves_units_open_here_and_shipped_there(sandbox, wm_account):
    """Operator and worker at the same moment, again and again: either the worker's claim came first
    (the withdrawal is refused, Walmart ships) or the withdrawal did (nothing is sent). Never both."""
    outcomes = set()
    for round_ in range(6):
        order = sold(sandbox, wm_account, sku=f"RACE-{round_}")
        shipment = order_ship(order_id=order.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(round_)))
        action = ChannelAction.objects.get(shipment=shipment)

        def operator_or_worker(calls=iter(["withdraw", "work"])):
            if next(calls) == "withdraw":
                try:
                    return shipment_withdraw(shipment_id=shipment.pk)
                except OrderActionRefused as refused:
                    return refused
            return outbox.process_action(action_id=action.pk)

        run_concurrently(operator_or_worker)
        drain_actions()
        shipment.refresh_from_db()
        line = sandbox.walmart.orders[order.channel_order_id].lines[0]
        item = order.items.get()
        if shipment.withdrawn_at:
            outcomes.add("withdrawn")
            assert (line.shipped, item.qty_shipped) == (0, 0)
            assert ChannelAction.objects.get(pk=action.pk).state == State.WITHDRAWN
        else:
            outcomes.add("shipped")
            assert (line.shipped, item.qty_shipped) == (2, 2)
            assert ChannelAction.objects.get(pk=action.pk).state == State.SUCCEEDED
    assert outcomes  # each round ended one way or the other, consistently


def test_units_walmart_ships_itself_after_a_withdrawal_are_recorded_from_walmart(sandbox, wm_account):
    """A withdrawn shipment holds no units: the same tracking number shipped on Walmart's site later
    is a package of Walmart's, recorded as such."""
    order = sold(sandbox, wm_account)
    shipment = refused_shipment(sandbox, order)
    shipment_withdraw(shipment_id=shipment.pk)
    sandbox.walmart.channel_ship(order.channel_order_id, tracking_number=ups_tracking(1))

    account_import_orders(account_id=wm_account.pk, since=timezone.now() - dt.timedelta(days=1))

    standing = Shipment.objects.filter(Shipment.STANDING, order=order)
    assert [(s.source, s.tracking_number, [row.qty for row in s.items.all()]) for s in standing] == [
        (Shipment.Source.CHANNEL, ups_tracking(1), [2])]
    assert order.items.get().qty_shipped == 2


def test_a_withdrawn_shipment_is_no_tracking_problem_of_the_seller(sandbox, wm_account):
    from orders.filters import counts_against_q

    order = sold(sandbox, wm_account)
    shipment = refused_shipment(sandbox, order)
    assert Order.objects.filter(counts_against_q("tracking_problem"), pk=order.pk).exists()  # refused: its error

    shipment_withdraw(shipment_id=shipment.pk)

    assert not Order.objects.filter(counts_against_q("tracking_problem"), pk=order.pk).exists()
