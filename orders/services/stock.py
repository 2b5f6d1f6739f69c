"""Stock movements of store products: reservations held by store orders, released on cancel,
turned into a stock decrease on shipment (given back when the shipment is withdrawn), and returned
by restock (R-ORD-2, R-CM-8).

Products are the last rows any transaction locks (orders.locks), and they are locked in pk order:
movements are collected while a transaction works on its orders and written together when the
outermost `stock_moves()` block ends — still inside the transaction. Without that, two
transactions touching the same two products in opposite orders would deadlock.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Case, F, IntegerField, Value, When
from django.db.models.functions import Greatest

from ..models import OrderItem, Product


@dataclass
class StockLedger:
    reserved: Counter = field(default_factory=Counter)  # product id → change of reserved_qty
    stock: Counter = field(default_factory=Counter)  # product id → change of stock_qty

    def touched(self) -> list[int]:
        return sorted(pk for pk in self.reserved.keys() | self.stock.keys()
                      if self.reserved[pk] or self.stock[pk])


_ledger: ContextVar[StockLedger | None] = ContextVar("stock_ledger", default=None)


@contextmanager
def stock_moves() -> Iterator[StockLedger]:
    """Collect the stock movements made inside; the outermost block writes them, products in pk
    order. Enter it inside the transaction (or savepoint) of the work it belongs to: a block left
    by an exception drops its movements, as the savepoint drops its rows."""
    parent = _ledger.get()
    ledger = StockLedger()
    token = _ledger.set(ledger)
    try:
        yield ledger
    finally:
        _ledger.reset(token)
    if parent is None:
        _write(ledger)
    else:
        parent.reserved.update(ledger.reserved)
        parent.stock.update(ledger.stock)


def _write(ledger: StockLedger) -> None:
    touched = ledger.touched()
    if not touched:
        return
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("stock movements must be written inside the transaction that made them")
    # Lock in pk order first; one UPDATE then changes them all.
    list(Product.objects.select_for_update().filter(pk__in=touched).order_by("pk").values_list("pk", flat=True))

    def by_product(deltas: Counter) -> Case:
        return Case(*(When(pk=pk, then=Value(deltas[pk])) for pk in touched if deltas[pk]),
                    default=Value(0), output_field=IntegerField())

    # Reservations and stock never go negative (oversold units were logged when reserved).
    Product.objects.filter(pk__in=touched).update(
        reserved_qty=Greatest(F("reserved_qty") + by_product(ledger.reserved), Value(0)),
        stock_qty=Greatest(F("stock_qty") + by_product(ledger.stock), Value(0)),
    )


def _record(*, reserved: dict[int, int] | None = None, stock: dict[int, int] | None = None) -> None:
    with stock_moves() as ledger:
        ledger.reserved.update(reserved or {})
        ledger.stock.update(stock or {})


def reserve(*, item: OrderItem, qty: int) -> None:
    """Hold `qty` more units of the item's product for its store order."""
    if qty > 0 and item.product_id:
        item.qty_reserved += qty
        _record(reserved={item.product_id: qty})


def release_reservation(*, item: OrderItem, qty: int) -> int:
    """Give back up to `qty` reserved units of the item (canceled units); returns how many."""
    released = min(item.qty_reserved, qty)
    if released:
        item.qty_reserved -= released
        if item.product_id:
            _record(reserved={item.product_id: -released})
    return released


def consume_for_shipment(*, item: OrderItem, qty: int) -> None:
    """Shipped units leave the shelf: their reservation ends and stock goes down."""
    release_reservation(item=item, qty=qty)
    if item.product_id:
        _record(stock={item.product_id: -qty})


def restock(*, product_id: int, qty: int) -> None:
    _record(stock={product_id: qty})


def return_unshipped(*, item: OrderItem, qty: int, store_order: bool) -> None:
    """Units of a shipment withdrawn before the channel took it: back on the shelf (shipping took
    them off it), and held again for the store order, as its open units are."""
    if item.product_id:
        _record(stock={item.product_id: qty})
    if store_order:
        reserve(item=item, qty=qty)
