"""Tracking numbers uploaded in bulk as a CSV, the way sellers feed their carrier exports: one row
per package (channel order #, carrier, method, tracking #, optionally a line and a quantity).

`tracking_upload_check` reads the file and checks every row without writing anything (the
preview); `tracking_upload_apply` checks again and ships the rows that passed, one shipment per
order and tracking number. Cells are data, never code: a cell that starts like a spreadsheet
formula is refused, not cleaned."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.db.models.functions import Upper

from ..exports import looks_like_formula
from ..models import Order, OrderStatus, Shipment
from .errors import OrderActionRefused
from .shipments import order_ship
from .tracking import Tracking, validate_tracking

MAX_BYTES = 1_000_000
MAX_ROWS = 2_000
# Header (lower case, spaces and punctuation removed) → column.
COLUMNS = {
    "channelorder#": "order", "channelorder": "order", "channelorderid": "order", "order": "order", "order#": "order",
    "orderid": "order", "purchaseorder#": "order",
    "purchaseorder": "order", "po": "order", "amazonorderid": "order",
    "carrier": "carrier", "carriername": "carrier",
    "method": "method", "shippingmethod": "method", "methodcode": "method",
    "tracking": "tracking", "trackingnumber": "tracking", "tracking#": "tracking", "trackingno": "tracking",
    "trackingurl": "url", "url": "url",
    "line": "line", "line#": "line", "sku": "line", "linenumber": "line", "orderitemid": "line",
    "quantity": "qty", "qty": "qty",
}
REQUIRED = ("order", "carrier", "tracking")
NOT_SHIPPABLE = {OrderStatus.CANCELED: "the order is canceled", OrderStatus.PENDING: "the order is Pending (not paid)"}


class UploadRefused(Exception):
    """The file as a whole cannot be read; the message says why in plain words."""


@dataclass
class UploadRow:
    number: int  # row in the file, the header being row 1
    channel_order_id: str
    carrier: str
    method: str
    tracking_number: str
    tracking_url: str = ""
    line: str = ""
    qty: int | None = None
    qty_text: str = ""  # the quantity cell as uploaded, shown beside its error
    order: Order | None = None
    item_id: int | None = None
    error: str = ""
    warning: str = ""  # ships as uploaded, but the operator should know (one tracking # on several orders)

    @property
    def tracking(self) -> Tracking:
        return Tracking(carrier=self.carrier, tracking_number=self.tracking_number, method=self.method or "Standard",
                        tracking_url=self.tracking_url)


@dataclass
class UploadCheck:
    rows: list[UploadRow] = field(default_factory=list)

    @property
    def good(self) -> list[UploadRow]:
        return [row for row in self.rows if not row.error]

    @property
    def bad(self) -> list[UploadRow]:
        return [row for row in self.rows if row.error]


@dataclass
class UploadResult:
    shipments: int = 0
    refused: list[str] = field(default_factory=list)


def tracking_upload_check(*, content: bytes) -> UploadCheck:
    """Every row of the file checked against the orders as they are now; nothing is written."""
    rows = _read_rows(content)
    orders = _orders_by_channel_id({row.channel_order_id for row in rows if row.channel_order_id})
    open_left: dict[int, int] = {}  # item id → units not yet claimed by an earlier row
    taken_by: dict[int, int] = {}  # item id → the last row of the file that claimed some of its units
    for row in rows:
        row.error = _row_error(row, orders, open_left, taken_by)
    _warn_of_shared_tracking([row for row in rows if not row.error])
    return UploadCheck(rows=rows)


def _warn_of_shared_tracking(rows: list[UploadRow]) -> None:
    """A tracking number is one package: on several orders (in the file or already shipped here) it is
    most often a copy-paste slip, so each such row says which other orders carry it."""
    orders_of: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        orders_of[row.tracking_number.upper()].add(row.channel_order_id)
    shipped = Shipment.objects.annotate(number=Upper("tracking_number")).filter(
        Shipment.STANDING, number__in=list(orders_of)).values_list("number", "order__channel_order_id")
    for number, channel_order_id in shipped:
        orders_of[number].add(channel_order_id)
    for row in rows:
        others = sorted(orders_of[row.tracking_number.upper()] - {row.channel_order_id})
        if others:
            listed = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
            row.warning = f"the same tracking # is on order{'s' if len(others) > 1 else ''} {listed}"


def tracking_upload_apply(*, content: bytes, user: AbstractBaseUser | None = None) -> UploadResult:
    """Ship the rows that pass the check (rows with errors are left out); one shipment per order
    and tracking number, each queued to its channel."""
    check = tracking_upload_check(content=content)
    packages: dict[tuple, dict[int, int] | None] = {}
    for row in check.good:
        key = (row.order.pk, row.carrier, row.method, row.tracking_number, row.tracking_url)
        if row.item_id is None:
            packages[key] = None  # everything still open on the order
        else:
            packages.setdefault(key, defaultdict(int))[row.item_id] += row.qty
    result = UploadResult()
    for (order_id, carrier, method, number, url), quantities in packages.items():
        tracking = Tracking(carrier=carrier, tracking_number=number, method=method or "Standard", tracking_url=url)
        try:
            order_ship(order_id=order_id, tracking=tracking, quantities=dict(quantities) if quantities else None,
                       user=user)
        except OrderActionRefused as refusal:
            result.refused.append(f"{number}: {refusal}")
        else:
            result.shipments += 1
    return result


def _read_rows(content: bytes) -> list[UploadRow]:
    if not content.strip():
        raise UploadRefused("The file is empty.")
    if len(content) > MAX_BYTES:
        raise UploadRefused(f"The file is larger than {MAX_BYTES // 1_000_000} MB: split it.")
    if b"\x00" in content:
        raise UploadRefused("This is not a CSV text file (it contains binary data).")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UploadRefused("The file is not UTF-8 text: save it as \"CSV UTF-8\".") from None
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        header = next(reader)
        columns = [COLUMNS.get("".join(ch for ch in name.lower() if ch.isalnum() or ch == "#"), "") for name in header]
        missing = [name for name in REQUIRED if name not in columns]
        if missing:
            raise UploadRefused("The first row must name the columns; missing: "
                                + ", ".join({"order": "channel order #", "carrier": "carrier",
                                             "tracking": "tracking #"}[name] for name in missing) + ".")
        rows = []
        for number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            if len(rows) >= MAX_ROWS:
                raise UploadRefused(f"The file has more than {MAX_ROWS} rows: split it.")
            rows.append(_row(number, columns, cells))
    except csv.Error as failure:
        raise UploadRefused(f"The file is not a readable CSV: {failure}.") from None
    if not rows:
        raise UploadRefused("The file has a header but no rows.")
    return rows


def _row(number: int, columns: list[str], cells: list[str]) -> UploadRow:
    values: dict[str, str] = {}
    formula = ""
    for column, cell in zip(columns, cells):
        if column and looks_like_formula(cell):
            formula = formula or f"the {column if column != 'order' else 'channel order #'} cell starts with " \
                                 f"{cell[:1]!r} like a spreadsheet formula; formulas are not accepted"
        if column:
            values[column] = cell.strip()
    row = UploadRow(number=number, channel_order_id=values.get("order", ""), carrier=values.get("carrier", ""),
                    method=values.get("method", ""), tracking_number=values.get("tracking", ""),
                    tracking_url=values.get("url", ""), line=values.get("line", ""), qty_text=values.get("qty", ""))
    if formula:
        row.error = formula
    elif len(cells) > len(columns):
        row.error = f"the row has {len(cells)} cells but the header names {len(columns)} columns"
    elif values.get("qty"):
        if not values["qty"].isdigit() or int(values["qty"]) == 0:
            row.error = f"quantity {values['qty']!r} is not a whole number of units above 0"
        else:
            row.qty = int(values["qty"])
    return row


def _orders_by_channel_id(channel_ids: set[str]) -> dict[str, list[Order]]:
    found: dict[str, list[Order]] = defaultdict(list)
    for order in Order.objects.filter(channel_order_id__in=channel_ids).prefetch_related("items"):
        found[order.channel_order_id].append(order)
    return found


def _earlier_row(items: list, taken_by: dict[int, int]) -> str:
    """A repeated row reads as one, not as an order shipped already."""
    rows = sorted({taken_by[item.pk] for item in items if item.pk in taken_by})
    return f" after row {', '.join(map(str, rows))} of this file" if rows else ""


def _row_error(row: UploadRow, orders: dict[str, list[Order]], open_left: dict[int, int],
               taken_by: dict[int, int]) -> str:
    if row.error:
        return row.error
    if not row.channel_order_id:
        return "the channel order # is empty"
    matches = orders.get(row.channel_order_id, [])
    if not matches:
        return f"no order {row.channel_order_id!r}"
    if len(matches) > 1:
        return f"{row.channel_order_id!r} matches orders of {len(matches)} accounts"
    row.order = order = matches[0]
    if order.status in NOT_SHIPPABLE:
        return NOT_SHIPPABLE[order.status]
    if order.buyer_cancel_requested:  # order_ship refuses it too; said here before anything is queued
        return "the buyer asked to cancel this order: cancel it, or ship it from its order page"
    try:
        tracking = validate_tracking(channel=order.channel, tracking=row.tracking)
    except OrderActionRefused as refusal:
        return str(refusal)
    row.carrier, row.method = tracking.carrier, tracking.method
    row.tracking_number, row.tracking_url = tracking.tracking_number, tracking.tracking_url
    items = sorted(order.items.all(), key=lambda item: item.pk)
    for item in items:
        open_left.setdefault(item.pk, item.qty_open)
    if not row.line:
        if row.qty is not None:
            return "a quantity needs a line (SKU or line number)"
        if not any(open_left[item.pk] for item in items):
            return "nothing left to ship on this order" + _earlier_row(items, taken_by)
        for item in items:
            if open_left[item.pk]:
                taken_by[item.pk] = row.number
            open_left[item.pk] = 0
        return ""
    wanted = row.line.casefold()
    line_items = [item for item in items if item.sku.casefold() == wanted or item.channel_line_id == row.line]
    if not line_items:
        return f"the order has no line {row.line!r} (give its SKU or line number)"
    item = line_items[0]
    qty = open_left[item.pk] if row.qty is None else row.qty
    if open_left[item.pk] == 0:
        return f"{item.sku}: nothing left to ship on this line" + _earlier_row([item], taken_by)
    if qty > open_left[item.pk]:
        return f"{item.sku}: {qty} unit(s) asked, {open_left[item.pk]} left to ship" + _earlier_row([item], taken_by)
    open_left[item.pk] -= qty
    taken_by[item.pk] = row.number
    row.item_id, row.qty = item.pk, qty
    return ""
