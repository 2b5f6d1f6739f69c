"""R-WM-STATUS / R-AZ-STATUS (SPEC §4): the one status derivation, for every status of both channels."""

from types import SimpleNamespace

import pytest

from channels.models import Channel
from orders.models import OrderLog, OrderStatus
from orders.status import derive_status, order_refresh_status
from tests.factories import create_order


def line(ordered: int, shipped: int = 0, canceled: int = 0):
    return SimpleNamespace(qty_ordered=ordered, qty_shipped=shipped, qty_canceled=canceled)


@pytest.mark.parametrize(
    ("lines", "acknowledged", "expected"),
    [
        ([line(2)], False, OrderStatus.CREATED),
        ([line(2)], True, OrderStatus.UNSHIPPED),
        ([line(2, shipped=1)], True, OrderStatus.PARTIALLY_SHIPPED),
        ([line(1, shipped=1), line(1)], True, OrderStatus.PARTIALLY_SHIPPED),
        ([line(2, shipped=2), line(1, shipped=1)], True, OrderStatus.SHIPPED),
        # Seed "Walmart order management" (R-SHIP-2): part shipped and the rest canceled is Partially Shipped.
        ([line(2, shipped=1, canceled=1)], True, OrderStatus.PARTIALLY_SHIPPED),
        ([line(1, shipped=1), line(1, canceled=1)], True, OrderStatus.PARTIALLY_SHIPPED),
        ([line(2, canceled=2), line(1, canceled=1)], True, OrderStatus.CANCELED),
        ([line(2, canceled=2), line(1, canceled=1)], False, OrderStatus.CANCELED),
        ([line(2, canceled=1)], True, OrderStatus.UNSHIPPED),
    ],
)
def test_r_wm_status_walmart(lines, acknowledged, expected):
    assert derive_status(channel=Channel.WALMART, lines=lines, is_acknowledged=acknowledged) == expected


def test_r_wm_7_refund_keeps_walmart_order_shipped():
    lines = [SimpleNamespace(qty_ordered=2, qty_shipped=2, qty_canceled=0, qty_refunded=2)]
    assert derive_status(channel=Channel.WALMART, lines=lines, is_acknowledged=True) == OrderStatus.SHIPPED


@pytest.mark.parametrize(
    ("lines", "paid", "channel_status", "expected"),
    [
        ([line(1)], False, "Pending", OrderStatus.PENDING),
        ([line(1)], True, "PendingAvailability", OrderStatus.PENDING),
        ([line(1)], True, "Unshipped", OrderStatus.UNSHIPPED),
        ([line(2, shipped=1)], True, "PartiallyShipped", OrderStatus.PARTIALLY_SHIPPED),
        ([line(2, shipped=2)], True, "Shipped", OrderStatus.SHIPPED),
        # Amazon reports Shipped once every unit left is shipped, whatever was canceled.
        ([line(2, shipped=1, canceled=1)], True, "Shipped", OrderStatus.SHIPPED),
        ([line(2, canceled=2)], True, "Canceled", OrderStatus.CANCELED),
        ([line(2, canceled=2)], False, "Canceled", OrderStatus.CANCELED),
        ([line(1)], True, "Unfulfillable", OrderStatus.UNFULFILLABLE),
        ([line(1)], True, "InvoiceUnconfirmed", OrderStatus.INVOICE_UNCONFIRMED),
    ],
)
def test_r_az_status_amazon(lines, paid, channel_status, expected):
    assert (
        derive_status(channel=Channel.AMAZON, lines=lines, is_paid=paid, channel_status=channel_status) == expected
    )


@pytest.mark.django_db
def test_status_change_is_saved_and_logged(walmart_account):
    order = create_order(account=walmart_account, status=OrderStatus.UNSHIPPED, n_items=2)
    first = order.items.order_by("pk").first()
    first.qty_shipped = first.qty_ordered
    first.save()

    assert order_refresh_status(order=order) is True

    order.refresh_from_db()
    assert order.status == OrderStatus.PARTIALLY_SHIPPED
    log = OrderLog.objects.get(order=order)
    assert log.message == "Status changed from Unshipped to Partially Shipped."
    assert log.initiator == OrderLog.Initiator.SYSTEM


@pytest.mark.django_db
def test_unchanged_status_writes_no_log(walmart_account):
    order = create_order(account=walmart_account, status=OrderStatus.UNSHIPPED)
    assert order_refresh_status(order=order) is False
    assert not OrderLog.objects.filter(order=order).exists()
