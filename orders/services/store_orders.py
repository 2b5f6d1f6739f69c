"""Store orders (R-ORD-1, R-ORD-2, R-ACC-1): the back-office's own order for a channel order.

One implementation for one order and for many: `give_store_orders` works on order and item rows in
memory — orders this transaction has locked (an operator's click, a bulk action) or is about to
insert (the import) — and the caller writes them. A store order cannot be created twice: the
orders are locked (or new), and the store order number is unique in the database.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from channels.models import Channel

from ..locks import lock_orders
from ..log import LogEntry, Type, order_log_write_many
from ..models import Order, OrderItem, OrderStatus, Product
from ..numbers import STORE_ORDER, allocate_numbers
from .errors import OrderActionRefused
from .stock import reserve, stock_moves

REFUSED_EXISTS = "store order already exists"
REFUSED_CANCELED = "order is canceled"
REFUSED_PENDING = "Amazon order is Pending (not paid)"


def store_order_refusal(order: Order) -> OrderActionRefused | None:
    """Why a store order cannot be created for this order, or None if it can."""
    if order.store_order_number:
        return OrderActionRefused(REFUSED_EXISTS, f"#{order.store_order_number}")
    if order.status == OrderStatus.CANCELED:
        return OrderActionRefused(REFUSED_CANCELED)
    if order.channel == Channel.AMAZON and (order.status == OrderStatus.PENDING or not order.is_paid):
        return OrderActionRefused(REFUSED_PENDING)
    return None


def order_create_store_order(*, order_id: int, user: AbstractBaseUser | None = None) -> Order:
    """Create the store order of one order; OrderActionRefused says why it cannot be."""
    created, refused = orders_create_store_orders(order_ids=[order_id], user=user)
    if refused:
        raise refused[order_id]
    return created[0]


def orders_create_store_orders(*, order_ids: Iterable[int], user: AbstractBaseUser | None = None
                               ) -> tuple[list[Order], dict[int, OrderActionRefused]]:
    """Create the store orders of these orders at once: the ones created, and why the others were
    refused (it exists already, canceled orders, Amazon Pending orders)."""
    user_id = user.pk if user else None
    with transaction.atomic():
        orders = lock_orders(order_ids)
        refused = {order.pk: refusal for order in orders if (refusal := store_order_refusal(order))}
        chosen = [order for order in orders if order.pk not in refused]
        items = items_for_update(order_ids=[order.pk for order in chosen])
        with stock_moves():
            entries = give_store_orders(orders=chosen, items_by_order=items, user_id=user_id)
        entries += oversold_warnings(items_by_order=items, user_id=user_id)
        Order.objects.bulk_update(chosen, ["store_order_number", "store_order_created_at", "updated_at"])
        OrderItem.objects.bulk_update([item for order in chosen for item in items[order.pk]],
                                      ["product", "qty_reserved"])
        order_log_write_many(entries=entries)
    return chosen, refused


def items_for_update(*, order_ids: list[int]) -> dict[int, list[OrderItem]]:
    """The items of these (locked) orders, locked too, per order."""
    items: dict[int, list[OrderItem]] = defaultdict(list)
    for item in OrderItem.objects.select_for_update().filter(order_id__in=order_ids).order_by("pk"):
        items[item.order_id].append(item)
    return items


def give_store_orders(*, orders: list[Order], items_by_order: dict[int, list[OrderItem]],
                      user_id: int | None) -> list[LogEntry]:
    """Number each order's store order, link its SKUs to products and reserve their open units
    (R-ORD-2: an unlinked SKU is a warning, not an error). Rows change in memory; stock movements go
    to the surrounding `stock_moves()`. Returns the Order Log lines; the caller writes rows and lines."""
    now = timezone.now()
    numbers = allocate_numbers(sequence=STORE_ORDER, count=len(orders))
    unlinked = {item.sku for order in orders for item in items_by_order.get(order.pk, []) if item.product_id is None}
    products = Product.objects.in_bulk(unlinked, field_name="sku") if unlinked else {}
    entries = []
    for order, number in zip(orders, numbers):
        order.store_order_number, order.store_order_created_at, order.updated_at = number, now, now
        reserved, unlinked_skus = [], []
        for item in items_by_order.get(order.pk, []):
            if item.product_id is None and item.sku in products:
                item.product = products[item.sku]
            if item.product_id is None:
                unlinked_skus.append(item.sku)
                continue
            qty = item.qty_open - item.qty_reserved
            if qty > 0:
                reserve(item=item, qty=qty)
                reserved.append(f"{qty} × {item.sku}")
        text = f"Store order #{number} created" + (f"; reserved {', '.join(reserved)}" if reserved else "")
        entries.append(LogEntry(order.pk, text + ".", Type.SUCCESS, user_id=user_id))
        if unlinked_skus:
            entries.append(LogEntry(order.pk, unlinked_warning(unlinked_skus), Type.WARNING, user_id=user_id))
    return entries


def unlinked_warning(skus: list[str]) -> str:
    if len(skus) == 1:
        return f"SKU {skus[0]} is not linked to a product: no stock reserved for it."
    return f"SKUs {', '.join(skus)} are not linked to products: no stock reserved for them."


def oversold_warnings(*, items_by_order: dict[int, list[OrderItem]], user_id: int | None) -> list[LogEntry]:
    """After reserving (stock written): a warning on each order that reserved an oversold product."""
    reserved = {item.product_id for items in items_by_order.values() for item in items
                if item.product_id and item.qty_reserved}
    if not reserved:
        return []
    oversold = dict(Product.objects.filter(pk__in=reserved, reserved_qty__gt=F("stock_qty")).values_list("pk", "sku"))
    return [LogEntry(order_id, f"SKU {oversold[product_id]} is oversold: more units reserved than in stock.",
                     Type.WARNING, user_id=user_id)
            for order_id, items in items_by_order.items()
            for product_id in sorted({item.product_id for item in items if item.qty_reserved})
            if product_id in oversold]
