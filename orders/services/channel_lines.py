"""Which channel line numbers carry which units of an item.

An item normally maps to one channel line. Walmart's duplicated single-unit lines of a SKU are
merged into one item whose line numbers are kept shipped first, open next, canceled last: shipping
takes open units from the front, canceling takes them from the back."""

from decimal import Decimal

from ..models import OrderItem

CENT = Decimal("0.01")


def lines_to_ship(*, item: OrderItem, qty: int) -> list[dict]:
    """Line entries for shipping `qty` more units (call before item.qty_shipped is increased)."""
    numbers = item.channel_line_numbers or [item.channel_line_id]
    if len(numbers) == 1:
        return [{"line_number": numbers[0], "qty": qty, "expect_shipped": item.qty_shipped + qty}]
    start = item.qty_shipped
    return [{"line_number": number, "qty": 1, "expect_shipped": 1} for number in numbers[start:start + qty]]


def lines_to_cancel(*, item: OrderItem, qty: int) -> list[dict]:
    """Line entries for canceling `qty` more units (call before item.qty_canceled is increased)."""
    numbers = item.channel_line_numbers or [item.channel_line_id]
    if len(numbers) == 1:
        return [{"line_number": numbers[0], "qty": qty}]
    end = len(numbers) - item.qty_canceled
    return [{"line_number": number, "qty": 1} for number in numbers[end - qty:end]]


def shipped_lines(*, item: OrderItem, qty: int) -> list[dict]:
    """Line entries of units already shipped (resending their tracking)."""
    numbers = item.channel_line_numbers or [item.channel_line_id]
    if len(numbers) == 1:
        return [{"line_number": numbers[0], "qty": qty, "expect_shipped": item.qty_shipped}]
    return [{"line_number": number, "qty": 1, "expect_shipped": 1} for number in numbers[:qty]]


def lines_to_refund(*, item: OrderItem, qty: int, amount, tax, shipping) -> list[dict]:
    """Line entries for refunding `qty` shipped units (call before item.qty_refunded grows). Money is
    spread evenly over merged single-unit lines."""
    numbers = item.channel_line_numbers or [item.channel_line_id]
    if len(numbers) == 1:
        return [{"line_number": numbers[0], "qty": qty, "amount": str(amount), "tax": str(tax),
                 "shipping": str(shipping)}]
    if not qty:  # shipping only: each shipped single-unit line gives back up to its own shipping
        return _shipping_over_unit_lines(item=item, numbers=numbers[:item.qty_shipped], shipping=shipping)
    start = item.qty_refunded
    chosen = numbers[start:start + qty]
    entries = []
    for index, number in enumerate(chosen):
        last = index == len(chosen) - 1
        unit_amount = amount - (amount / qty).quantize(CENT) * (qty - 1) if last else (amount / qty).quantize(CENT)
        unit_tax = tax - (tax / qty).quantize(CENT) * (qty - 1) if last else (tax / qty).quantize(CENT)
        unit_shipping = shipping if index == 0 else Decimal("0")
        entries.append({"line_number": number, "qty": 1, "amount": str(unit_amount), "tax": str(unit_tax),
                        "shipping": str(unit_shipping)})
    return entries


def _shipping_over_unit_lines(*, item: OrderItem, numbers: list[str], shipping) -> list[dict]:
    per_line = (item.shipping_charge / item.qty_ordered).quantize(CENT)
    entries, left = [], shipping
    for index, number in enumerate(numbers):
        take = left if index == len(numbers) - 1 else min(left, per_line)
        if take > 0:
            entries.append({"line_number": number, "qty": 0, "amount": "0", "tax": "0", "shipping": str(take)})
        left -= take
    return entries
