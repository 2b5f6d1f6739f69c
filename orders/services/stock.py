"""Stock movements of store products: reservations held by store orders, released on cancel,
turned into a stock decrease on shipment, and returned by restock (R-ORD-2, R-CM-8)."""

from django.db.models import F, Value
from django.db.models.functions import Greatest

from ..models import OrderItem, Product


def release_reservation(*, item: OrderItem, qty: int) -> int:
    """Give back up to `qty` reserved units of the item (canceled units); returns how many."""
    released = min(item.qty_reserved, qty)
    if released and item.product_id:
        Product.objects.filter(pk=item.product_id).update(reserved_qty=Greatest(F("reserved_qty") - released, Value(0)))
    item.qty_reserved -= released
    return released


def consume_for_shipment(*, item: OrderItem, qty: int) -> None:
    """Shipped units leave the shelf: their reservation ends and stock goes down."""
    release_reservation(item=item, qty=qty)
    if item.product_id:
        # Stock never goes negative (oversold units were logged when reserved).
        Product.objects.filter(pk=item.product_id).update(stock_qty=Greatest(F("stock_qty") - qty, Value(0)))


def restock(*, product_id: int, qty: int) -> None:
    Product.objects.filter(pk=product_id).update(stock_qty=F("stock_qty") + qty)
