"""Orders with exact money, for the money-rule tests: every line's price, tax and shipping chosen
by the test, totals that add up, and the lines shaped as shipped / canceled as asked."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from channels.models import ChannelAccount
from orders.models import Order, OrderItem, OrderStatus
from orders.status import order_refresh_status
from tests.factories import create_order


@dataclass(frozen=True)
class Line:
    qty: int
    price: str
    tax: str = "0.00"
    shipping: str = "0.00"
    shipped: int = 0
    canceled: int = 0
    buyer_cancel_requested: bool = False


def order_with_lines(account: ChannelAccount, *lines: Line) -> Order:
    """A saved, acknowledged order whose items are exactly `lines`; its status follows the lines."""
    order = create_order(account=account, status=OrderStatus.UNSHIPPED, n_items=len(lines))
    items = list(order.items.order_by("pk"))
    for item, line in zip(items, lines, strict=True):
        item.qty_ordered, item.qty_shipped, item.qty_canceled = line.qty, line.shipped, line.canceled
        item.unit_price, item.tax, item.shipping_charge = Decimal(line.price), Decimal(line.tax), Decimal(line.shipping)
        item.buyer_cancel_requested = line.buyer_cancel_requested
    OrderItem.objects.bulk_update(items, ["qty_ordered", "qty_shipped", "qty_canceled", "unit_price", "tax",
                                          "shipping_charge", "buyer_cancel_requested"])
    order.subtotal = sum((item.unit_price * item.qty_ordered for item in items), Decimal("0"))
    order.tax_total = sum((item.tax for item in items), Decimal("0"))
    order.shipping_total = sum((item.shipping_charge for item in items), Decimal("0"))
    order.grand_total = order.subtotal + order.tax_total + order.shipping_total
    order.buyer_cancel_requested = any(line.buyer_cancel_requested for line in lines)
    order.save(update_fields=["subtotal", "tax_total", "shipping_total", "grand_total", "buyer_cancel_requested"])
    order_refresh_status(order=order)
    return Order.objects.get(pk=order.pk)


def item_ids(order: Order) -> list[int]:
    return list(order.items.order_by("pk").values_list("pk", flat=True))
