"""CSV export of orders (R-GRID-3): the rows the grid shows, streamed in chunks; the status as the
grid shows it (what the channel confirmed, and what is on its way to it); the money canceled and
refunded as the order page's Totals count it (orders.selectors.order_totals)."""

import csv
import re
from collections.abc import Iterator

from django.db.models import QuerySet

from .datetimes import iso_datetime
from .selectors import order_totals
from .status import order_status_shown

HEADER = [
    "Sale Date",
    "Ship By Date",
    "Store Order #",
    "Channel",
    "Account",
    "Marketplace",
    "Channel Order #",
    "Customer Order #",
    "Status",
    "Sync",
    "Buyer Name",
    "Buyer Email",
    "Fulfillment",
    "Currency",
    "Total Paid",
    "Canceled Units",
    "Canceled Amount",
    "Refunded",
    "Refund On Its Way",
    "Refund Failed",
    "Items",
]


# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection").
# defusedcsv covers the first four but not a leading tab or carriage return, hence this.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# ...except a plain negative number (a refund, -5.00): the spreadsheet reads it as the number it is.
PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


def looks_like_formula(value: str) -> bool:
    """Would a spreadsheet run this cell? (The one rule for every CSV we write or read.)"""
    return value.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(value)


def neutralise_cell(value: str) -> str:
    """Data from outside is never code: a leading apostrophe makes a spreadsheet show it as text.
    Plain numbers stay numbers, so a negative amount still adds up in the sheet."""
    return f"'{value}" if looks_like_formula(value) else value


class _Echo:
    def write(self, value: str) -> str:
        return value


def _row(order) -> list[str]:
    items = "; ".join(f"{item.sku} x {item.qty_ordered}" for item in order.items.all())
    # What the channel confirmed; a refund queued or being sent, and one that failed to get there, are
    # columns of their own (blank when there is none).
    totals = order_totals(order)
    return [
        iso_datetime(order.sale_date),
        iso_datetime(order.ship_by_date),
        order.store_order_number or "",
        order.get_channel_display(),
        order.account.title,
        order.marketplace.name,
        order.channel_order_id,
        order.customer_order_id,
        order_status_shown(order, order.unsettled_actions).text,
        order.get_sync_state_display(),
        order.buyer_name,
        order.buyer_email,
        order.get_fulfillment_display(),
        order.currency,
        f"{order.grand_total:.2f}",
        str(totals.canceled_units),
        f"{totals.canceled:.2f}",
        f"{totals.refunded:.2f}",
        f"{totals.refunded_unconfirmed:.2f}" if totals.refunded_unconfirmed else "",
        f"{totals.refunded_failed:.2f}" if totals.refunded_failed else "",
        items,
    ]


def orders_csv_lines(*, orders: QuerySet, chunk_size: int = 2000) -> Iterator[str]:
    """CSV lines for a grid queryset (orders.selectors.order_grid_queryset: items and unsettled
    actions prefetched per chunk, so memory stays flat)."""
    writer = csv.writer(_Echo())
    yield writer.writerow(HEADER)
    for order in orders.iterator(chunk_size=chunk_size):
        yield writer.writerow([neutralise_cell(cell) for cell in _row(order)])
