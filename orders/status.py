"""The one place that decides an order's status (SPEC §4, R-WM-STATUS, R-AZ-STATUS).

Status follows from line quantities plus the few channel facts that quantities
cannot express (Walmart acknowledgement, Amazon payment and its extra values).
"""

from collections.abc import Iterable
from typing import Protocol

from django.contrib.auth.models import AbstractBaseUser

from channels.models import Channel

from .log import Initiator, Type, order_log_write
from .models import Order, OrderStatus

AMAZON_UNPAID_STATUSES = frozenset({"Pending", "PendingAvailability"})
AMAZON_KEPT_STATUSES = {
    "Unfulfillable": OrderStatus.UNFULFILLABLE,
    "InvoiceUnconfirmed": OrderStatus.INVOICE_UNCONFIRMED,
}


class LineQuantities(Protocol):
    qty_ordered: int
    qty_shipped: int
    qty_canceled: int


def derive_status(
    *,
    channel: str,
    lines: Iterable[LineQuantities],
    is_acknowledged: bool = False,
    is_paid: bool = True,
    channel_status: str = "",
) -> OrderStatus:
    lines = list(lines)
    to_ship = sum(line.qty_ordered - line.qty_canceled for line in lines)
    shipped = sum(line.qty_shipped for line in lines)

    if lines and to_ship == 0:
        return OrderStatus.CANCELED
    if channel == Channel.AMAZON and (not is_paid or channel_status in AMAZON_UNPAID_STATUSES):
        return OrderStatus.PENDING
    # R-SHIP-2: Partially Shipped until every non-canceled unit is shipped.
    if lines and shipped >= to_ship:
        return OrderStatus.SHIPPED
    if shipped > 0:
        return OrderStatus.PARTIALLY_SHIPPED
    if channel == Channel.AMAZON:
        return AMAZON_KEPT_STATUSES.get(channel_status, OrderStatus.UNSHIPPED)
    return OrderStatus.UNSHIPPED if is_acknowledged else OrderStatus.CREATED


def order_status_of(order: Order) -> OrderStatus:
    """The status the order should have now, from its items (prefetched ones are used as they are)."""
    return derive_status(
        channel=order.channel,
        lines=order.items.all(),
        is_acknowledged=order.acknowledged_at is not None,
        is_paid=order.is_paid,
        channel_status=order.channel_status,
    )


def order_refresh_status(
    *,
    order: Order,
    initiator: str = Initiator.SYSTEM,
    user: AbstractBaseUser | None = None,
) -> bool:
    """Bring order.status in line with its items; a change is saved and logged. True if it changed."""
    new_status = order_status_of(order)
    if new_status == order.status:
        return False
    old_label = OrderStatus(order.status).label
    order.status = new_status
    order.save(update_fields=["status", "updated_at"])
    order_log_write(
        order=order,
        message=f"Status changed from {old_label} to {new_status.label}.",
        type=Type.NOTICE,
        initiator=initiator,
        user=user,
    )
    return True
