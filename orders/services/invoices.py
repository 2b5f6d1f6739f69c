"""Invoices of store orders (R-ACC-4), made for many orders at once."""

from __future__ import annotations

from ..copy import new_row
from ..log import LogEntry, Type
from ..models import Invoice, Order
from ..numbers import INVOICE, allocate_numbers


def invoice_orders(*, orders: list[Order]) -> tuple[list[Invoice], list[LogEntry]]:
    """Invoices for these orders (the caller checked each has a store order and none yet), with
    their Order Log lines; the caller writes both."""
    numbers = allocate_numbers(sequence=INVOICE, count=len(orders))
    invoices = [new_row(Invoice, order_id=order.pk, number=number, amount=order.grand_total)
                for order, number in zip(orders, numbers)]
    return invoices, [LogEntry(invoice.order_id, f"Invoice #{invoice.number} created.", Type.SUCCESS)
                      for invoice in invoices]
