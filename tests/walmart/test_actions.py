"""Walmart channel actions through the outbox, against the sandbox (SPEC §6, R-SHIP-*, R-CAN-*, R-SYNC-3)."""

import pytest

from orders import outbox
from orders.models import ChannelAction, Order, OrderLog, OrderStatus, Shipment, SyncState
from orders.services.cancel import order_cancel
from orders.services.errors import OrderActionRefused
from orders.services.importing import account_import_orders
from orders.services.shipments import Tracking, order_resend_shipping, order_ship
from tests.helpers import drain_actions, run_concurrently, ups_tracking

pytestmark = pytest.mark.django_db
UPS = Tracking(carrier="UPS", tracking_number="1Z999AA10123456784")


def imported(sandbox, account, **create):
    [po] = sandbox.walmart.create_orders(count=1, **create)
    account_import_orders(account_id=account.pk)
    drain_actions()  # the automatic acknowledge
    sandbox.requests.clear()
    return Order.objects.get(channel_order_id=po), sandbox.walmart.orders[po]


def posts(sandbox, action):
    return sandbox.requests.all(method="POST", path=f"/{action}$")


def test_r_ship_1_shipment_with_tracking_reaches_walmart(sandbox, wm_account):
    order, channel = imported(sandbox, wm_account, lines=2, qty=1)

    order_ship(order_id=order.pk, tracking=UPS)
    drain_actions()

    assert [line.shipped for line in channel.lines] == [1, 1]
    [call] = posts(sandbox, "shipping")
    tracking = call.body["orderShipment"]["orderLines"]["orderLine"][0]["orderLineStatuses"]["orderLineStatus"][0]["trackingInfo"]
    assert tracking["trackingNumber"] == UPS.tracking_number and tracking["carrierName"] == {"carrier": "UPS"}
    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED and order.sync_state == SyncState.OK
    assert Shipment.objects.get(order=order).sync_state == SyncState.OK


@pytest.mark.parametrize("tracking", [Tracking(carrier="UPS", tracking_number=""), Tracking(carrier="", tracking_number=ups_tracking())])
def test_r_ship_1_shipment_without_tracking_is_refused_before_anything_is_queued(sandbox, wm_account, tracking):
    order, _ = imported(sandbox, wm_account)
    with pytest.raises(OrderActionRefused) as refused:
        order_ship(order_id=order.pk, tracking=tracking)
    assert refused.value.reason in ("tracking number is required", "carrier is required")
    assert not Shipment.objects.filter(order=order).exists()
    assert not ChannelAction.objects.filter(order=order, kind="ship").exists()
    assert order.items.get().qty_shipped == 0


def test_other_carrier_needs_a_tracking_url(sandbox, wm_account):
    order, channel = imported(sandbox, wm_account)
    with pytest.raises(OrderActionRefused):
        order_ship(order_id=order.pk, tracking=Tracking(carrier="Bob's Vans", tracking_number="BV-1001"))
    order_ship(order_id=order.pk, tracking=Tracking(carrier="Bob's Vans", tracking_number="BV-1001",
                                                   tracking_url="https://bob.example/track/BV-1001"))
    drain_actions()
    sent = posts(sandbox, "shipping")[0].body["orderShipment"]["orderLines"]["orderLine"][0]
    assert sent["orderLineStatuses"]["orderLineStatus"][0]["trackingInfo"]["carrierName"] == {"otherCarrier": "Bob's Vans"}
    assert channel.lines[0].shipped == 1


def test_r_ship_2_partial_shipment_is_partially_shipped(sandbox, wm_account):
    order, channel = imported(sandbox, wm_account, lines=2, qty=3)
    first, second = order.items.order_by("pk")

    order_ship(order_id=order.pk, tracking=UPS, quantities={first.pk: 2})
    drain_actions()

    order.refresh_from_db()
    assert order.status == OrderStatus.PARTIALLY_SHIPPED
    assert [line.shipped for line in channel.lines] == [2, 0]
    order_ship(order_id=order.pk, tracking=UPS)  # the rest
    drain_actions()
    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED
    assert [line.shipped for line in channel.lines] == [3, 3]


def test_merged_single_unit_lines_ship_line_by_line(sandbox, wm_account):
    order, channel = imported(sandbox, wm_account, lines=1, qty=3, duplicate_lines=True)
    item = order.items.get()
    order_ship(order_id=order.pk, tracking=UPS, quantities={item.pk: 2})
    drain_actions()
    assert [line.shipped for line in channel.lines] == [1, 1, 0]


def test_r_ship_3_resend_shipping_information(sandbox, wm_account):
    order, channel = imported(sandbox, wm_account)
    order_ship(order_id=order.pk, tracking=UPS)
    drain_actions()
    Shipment.objects.filter(order=order).update(tracking_number="1ZNEWNUMBER")

    order_resend_shipping(order_id=order.pk)
    drain_actions()

    resent = posts(sandbox, "shipping")[-1].body["orderShipment"]
    assert resent["processMode"] == "PARTIAL_UPDATE"
    assert channel.lines[0].tracking["trackingNumber"] == "1ZNEWNUMBER" and channel.lines[0].shipped == 1


def test_r_can_1_cancel_sends_the_reason_and_cancels_everything_open(sandbox, wm_account):
    order, channel = imported(sandbox, wm_account, lines=2, qty=2)
    first = order.items.order_by("pk").first()
    order_ship(order_id=order.pk, tracking=UPS, quantities={first.pk: 1})

    order_cancel(order_id=order.pk, reason="SELLER_CANCEL_OUT_OF_STOCK")
    drain_actions()

    assert [(line.shipped, line.cancelled) for line in channel.lines] == [(1, 1), (0, 2)]
    assert {line.cancellation_reason for line in channel.lines} == {"SELLER_CANCEL_OUT_OF_STOCK"}
    order.refresh_from_db()
    # seed "Walmart order management" (R-SHIP-2): one unit shipped, the rest canceled is Partially Shipped
    assert order.status == OrderStatus.PARTIALLY_SHIPPED


def test_r_can_1_reason_is_required(sandbox, wm_account):
    order, _ = imported(sandbox, wm_account)
    with pytest.raises(OrderActionRefused) as refused:
        order_cancel(order_id=order.pk, reason="")
    assert refused.value.reason == "a valid cancellation reason is required"


def test_r_can_2_fully_shipped_order_cannot_be_canceled(sandbox, wm_account):
    order, _ = imported(sandbox, wm_account)
    order_ship(order_id=order.pk, tracking=UPS)
    with pytest.raises(OrderActionRefused) as refused:
        order_cancel(order_id=order.pk, reason="SELLER_CANCEL_OUT_OF_STOCK")
    assert refused.value.reason == "nothing left to cancel (shipped lines cannot be canceled)"


def test_r_can_3_cancel_of_150_lines_is_two_requests_of_at_most_100(sandbox, wm_account):
    order, channel = imported(sandbox, wm_account, lines=150)

    order_cancel(order_id=order.pk, reason="SELLER_CANCEL_OUT_OF_STOCK")
    drain_actions()

    sizes = [len(call.body["orderCancellation"]["orderLines"]["orderLine"]) for call in posts(sandbox, "cancel")]
    assert sizes == [100, 50]
    assert all(line.cancelled == 1 for line in channel.lines)
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CANCELED


def test_buyer_requested_cancel_uses_the_customer_reason(sandbox, wm_account):
    order, channel = imported(sandbox, wm_account, intent_to_cancel=True)
    order_cancel(order_id=order.pk, reason="CUSTOMER_REQUESTED_SELLER_TO_CANCEL")
    drain_actions()
    assert channel.lines[0].cancellation_reason == "CUSTOMER_REQUESTED_SELLER_TO_CANCEL"


FAULTS = [
    # kind, extra, requests to the endpoint, verification reads
    ("429", {"retry_after_ms": 50}, 2, 0),
    ("500", {}, 2, 1),
    ("503", {}, 2, 1),
    ("drop", {"when": "before"}, 2, 1),
    ("drop", {"when": "after"}, 1, 1),
    ("timeout", {"delay": 1.0}, 1, 1),
    ("malformed", {}, 1, 1),
]


@pytest.mark.parametrize(("kind", "extra", "ship_calls", "reads"), FAULTS, ids=[f"{f[0]}-{f[1].get('when', '')}" for f in FAULTS])
def test_r_rel_each_fault_is_retried_and_the_shipment_sent_once(sandbox, wm_account, fast_retries, settings,
                                                               kind, extra, ship_calls, reads):
    settings.CHANNEL_HTTP_READ_TIMEOUT = 0.5
    order, channel = imported(sandbox, wm_account, qty=2)
    sandbox.faults.add(kind=kind, path="/shipping$", **extra)

    order_ship(order_id=order.pk, tracking=UPS)
    drain_actions()

    assert channel.lines[0].shipped == 2  # never over-shipped, never lost
    assert len(posts(sandbox, "shipping")) == ship_calls
    assert len(sandbox.requests.all(method="GET", path=rf"^/v3/orders/{order.channel_order_id}$")) == reads
    action = ChannelAction.objects.get(order=order, kind="ship")
    assert action.state == "succeeded" and action.attempts == 2
    assert OrderLog.objects.filter(order=order, type="warning", message__contains="attempt 1 of").exists()
    assert Order.objects.get(pk=order.pk).sync_state == SyncState.OK


def test_r_rel_cancel_after_dropped_connection_is_not_sent_twice(sandbox, wm_account, fast_retries):
    order, channel = imported(sandbox, wm_account, qty=3)
    sandbox.faults.add(kind="drop", path="/cancel$", when="after")
    order_cancel(order_id=order.pk, reason="SELLER_CANCEL_OUT_OF_STOCK")
    drain_actions()
    assert channel.lines[0].cancelled == 3
    assert len(posts(sandbox, "cancel")) == 1
    assert OrderLog.objects.filter(order=order, message__contains="found already applied").exists()


def test_r_sync_3_after_the_last_attempt_the_order_shows_error_and_manual_retry_works(sandbox, wm_account, fast_retries):
    order, channel = imported(sandbox, wm_account)
    sandbox.faults.add(kind="503", path="/shipping$", count=4)

    order_ship(order_id=order.pk, tracking=UPS)
    drain_actions()

    order.refresh_from_db()
    assert order.sync_state == SyncState.ERROR and "HTTP 503" in order.sync_error
    assert OrderLog.objects.filter(order=order, type="error", message__contains="failed after 4 attempt(s)").exists()
    assert channel.lines[0].shipped == 0
    assert ChannelAction.objects.get(order=order, kind="ship").state == "failed"

    outbox.order_retry_failed_actions(order_id=order.pk)
    drain_actions()

    order.refresh_from_db()
    assert order.sync_state == SyncState.OK and channel.lines[0].shipped == 1
    with pytest.raises(OrderActionRefused):
        outbox.order_retry_failed_actions(order_id=order.pk)


def test_permanent_refusal_fails_at_once_with_the_channel_message(sandbox, wm_account):
    order, channel = imported(sandbox, wm_account)
    channel.lines[0].shipped = 1  # shipped on Walmart meanwhile: our shipment now over-ships
    order_ship(order_id=order.pk, tracking=UPS)
    drain_actions()
    action = ChannelAction.objects.get(order=order, kind="ship")
    assert action.state == "failed" and action.attempts == 1
    assert "Qty OverShipped" in action.last_error
    assert "Qty OverShipped" in Order.objects.get(pk=order.pk).sync_error


def test_actions_of_one_order_run_in_order_and_wait_behind_a_failure(sandbox, wm_account, fast_retries):
    order, channel = imported(sandbox, wm_account, lines=2)
    first, second = order.items.order_by("pk")
    sandbox.faults.add(kind="503", path="/shipping$", count=4)
    order_ship(order_id=order.pk, tracking=UPS, quantities={first.pk: 1})
    order_cancel(order_id=order.pk, reason="SELLER_CANCEL_OUT_OF_STOCK")
    drain_actions()
    assert not posts(sandbox, "cancel")  # waits behind the failed shipment
    outbox.order_retry_failed_actions(order_id=order.pk)
    drain_actions()
    assert [(line.shipped, line.cancelled) for line in channel.lines] == [(1, 0), (0, 1)]


def test_worker_dying_mid_action_is_taken_over_and_verified(sandbox, wm_account, settings):
    order, channel = imported(sandbox, wm_account)
    order_ship(order_id=order.pk, tracking=UPS)
    action = outbox.claim()  # a worker claims it, sends it, and dies before recording the outcome
    from channels.registry import client_for
    outbox._send(client_for(wm_account), action, action.payload)
    ChannelAction.objects.filter(pk=action.pk).update(lease_expires_at=action.lease_expires_at.replace(year=2000))

    drain_actions()

    assert channel.lines[0].shipped == 1
    assert len(posts(sandbox, "shipping")) == 1
    assert ChannelAction.objects.get(pk=action.pk).state == "succeeded"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_r_rel_two_workers_draining_concurrently_send_each_action_once(sandbox, wm_account):
    wm_account.create_store_order = False
    wm_account.save()
    sandbox.walmart.create_orders(count=30, acknowledged=True)
    account_import_orders(account_id=wm_account.pk)
    for order in Order.objects.all():
        order_ship(order_id=order.pk, tracking=UPS)
    run_concurrently(outbox.process_due_actions)

    assert len(posts(sandbox, "shipping")) == 30
    assert ChannelAction.objects.filter(state="succeeded").count() == 30
    assert all(po.lines[0].shipped == 1 for po in sandbox.walmart.orders.values())


def test_r_ship_3_resend_is_refused_for_a_shipment_walmart_refused(sandbox, wm_account, fast_retries,
                                                                     operator_client):
    """An update of a package Walmart never took waited behind the refused send for ever, while the
    page said "Resend Shipping Information: queued" (outside tester). Refused, with the ways out; the
    order page no longer offers it."""
    from django.urls import reverse

    order, _channel = imported(sandbox, wm_account)
    sandbox.faults.add(kind="400", path="/shipping$", method="POST", count=10)
    order_ship(order_id=order.pk, tracking=UPS)
    drain_actions()
    assert ChannelAction.objects.get(order=order, kind=ChannelAction.Kind.SHIP).state == ChannelAction.State.FAILED
    assert 'id="resend-shipping"' not in operator_client.get(
        reverse("admin:orders_order_change", args=[order.pk])).content.decode()

    with pytest.raises(OrderActionRefused, match="Walmart has not accepted shipment #.* yet: retry its failed send "
                       "with Retry Failed Sync, correct its tracking, or withdraw it"):
        order_resend_shipping(order_id=order.pk)
    assert ChannelAction.objects.filter(order=order, kind=ChannelAction.Kind.SHIP).count() == 1
