"""Which channel line numbers carry which units of an item.

An item normally maps to one channel line. Walmart's duplicated single-unit lines of a SKU are
merged into one item whose line numbers are kept shipped first, open next, canceled last: shipping
takes open units from the front, canceling takes them from the back."""

from ..models import OrderItem


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
        return [{"line_number": numbers[0], "qty": qty, "expect_canceled": item.qty_canceled + qty}]
    end = len(numbers) - item.qty_canceled
    return [{"line_number": number, "qty": 1, "expect_canceled": 1} for number in numbers[end - qty:end]]


def shipped_lines(*, item: OrderItem, qty: int) -> list[dict]:
    """Line entries of units already shipped (resending their tracking)."""
    numbers = item.channel_line_numbers or [item.channel_line_id]
    if len(numbers) == 1:
        return [{"line_number": numbers[0], "qty": qty, "expect_shipped": item.qty_shipped}]
    return [{"line_number": number, "qty": 1, "expect_shipped": 1} for number in numbers[:qty]]
