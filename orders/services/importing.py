"""Importing channel orders (R-SYNC-1, R-SYNC-2, R-SYNC-6; R-ACC-1/2/4/5).

Incremental by the channel's last-modified time with a small overlap, page by page; each page is
upserted in bulk under a lock on the account row (so two imports of one account cannot create the
same order twice; the unique constraint backs that up). Channel data never takes back a local
decision: quantities only grow, and data older than what was applied is skipped.
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import DataError, IntegrityError, connection, transaction
from django.utils import timezone

from channels.clients import ChannelLine, ChannelOrder, ChannelReturn, OrderPage, UnreadableOrder
from channels.models import ChannelAccount
from channels.registry import client_for
from channels.validation import unstorable_text

from ..copy import copy_insert, json_value, new_row, reserve_ids
from ..locks import lock_account_for_import, lock_order_rows, lock_orders
from ..log import Initiator, LogEntry, Type, order_log_write_many
from ..models import (
    ChannelAction,
    Invoice,
    Order,
    OrderItem,
    OrderReturn,
    OrderReturnLine,
    OrderStatus,
    Product,
    Shipment,
)
from ..outbox import enqueue_actions, mark_waiting
from ..status import order_status_of, orders_refresh_status
from .automation import account_has_options, apply_account_options
from .channel_shipments import ShipmentWrites, order_shipments_from_channel
from .errors import OrderActionRefused
from .import_problems import import_problem_record, import_problems_resolve
from .import_runs import ImportFailed, import_run  # noqa: F401  (ImportFailed: what callers catch)
from .page_reader import pages_read_ahead
from .stock import consume_for_shipment, release_reservation, stock_moves
from .store_orders import items_for_update, oversold_warnings

logger = logging.getLogger("orders.importing")
CENT = Decimal("0.01")
REIMPORT_MAX_DAYS = 90
IMPORT_PAGE_SIZE = 200  # the largest page Walmart serves; fewer round trips


@dataclass
class ImportResult:
    pages: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: int = 0  # orders kept aside as import problems

    @property
    def seen(self) -> int:
        return self.created + self.updated + self.unchanged

    def __str__(self) -> str:
        return (f"{self.seen} orders in {self.pages} pages: {self.created} new, {self.updated} updated, "
                f"{self.unchanged} unchanged" + (f", {self.problems} kept aside as import problems" if self.problems else ""))

    def add(self, other: ImportResult) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged


Progress = Callable[[ImportResult], None]


def account_import_orders(*, account_id: int, since: dt.datetime | None = None,
                          progress: Progress | None = None) -> ImportResult:
    """One incremental import of an account; records the outcome on the account (R-SYNC-5, issue 8 §2)."""
    account = ChannelAccount.objects.get(pk=account_id)
    started = timezone.now()
    with import_run(account=account):
        cursor = since or account.last_import_cursor or started - dt.timedelta(days=settings.IMPORT_INITIAL_DAYS)
        modified_since = cursor - dt.timedelta(seconds=settings.IMPORT_OVERLAP_SECONDS)
        client = client_for(account)
        result = _run(account, client.iter_order_pages(modified_since=modified_since, page_size=IMPORT_PAGE_SIZE),
                      progress, before_fork=client.close)
        for returns in client.iter_returns(modified_since=modified_since):
            upsert_returns(account=account, channel_returns=returns)
        ChannelAccount.objects.filter(pk=account.pk).update(last_import_cursor=started)
    return result


def account_reimport_orders(*, account_id: int, created_from: dt.datetime, created_to: dt.datetime,
                            progress: Progress | None = None) -> ImportResult:
    """R-SYNC-6: import again every order created in a date range (up to 90 days back)."""
    validate_reimport_range(created_from=created_from, created_to=created_to)
    account = ChannelAccount.objects.get(pk=account_id)
    with import_run(account=account, records_success=False, what="reimport"):
        client = client_for(account)
        pages = client.iter_order_pages(created_since=created_from, created_until=created_to,
                                        page_size=IMPORT_PAGE_SIZE)
        return _run(account, pages, progress, before_fork=client.close)


def validate_reimport_range(*, created_from: dt.datetime, created_to: dt.datetime) -> None:
    if created_from < timezone.now() - dt.timedelta(days=REIMPORT_MAX_DAYS):
        raise OrderActionRefused(f"reimport goes back at most {REIMPORT_MAX_DAYS} days")
    if created_from > created_to:
        raise OrderActionRefused("the start of the range is after its end")


def _run(account: ChannelAccount, pages: Iterable[OrderPage], progress: Progress | None, *,
         before_fork: Callable[[], None]) -> ImportResult:
    result = ImportResult()
    statistics = FreshStatistics()
    # closing(): a run that fails ends its page reader there and then, not when the failure is forgotten.
    with fewer_collections(), closing(pages_read_ahead(pages, before_fork=before_fork)) as read_pages:
        for page in read_pages:
            upsert_page(account=account, page=page, result=result)
            result.pages += 1
            statistics.after(written=result.created + result.updated)
            if progress:
                progress(result)
    return result


class FreshStatistics:
    """PostgreSQL plans the page's lookups from table statistics; a big import outgrows them long
    before autovacuum's next ANALYZE (issue 14: per-page lookups went from 9 to 190 ms over a
    100,000-order run). Whenever the import has written half as many orders again as the tables held
    at the last ANALYZE (at least 2,000), ANALYZE the columns its lookups filter on, in the tables it
    grows: those statistics (and the row counts, which any ANALYZE refreshes) are what its plans read.
    Every column of every table written, each fifth, took 9.8 s of 100,000 orders' 62 s (mostly the
    payload JSON); these columns each half, 1.2 s, and the pages stay as flat (BENCHMARKS.md)."""

    LOOKUPS = (
        (Order, ("account", "channel_order_id")),  # which of the page's orders are known
        (OrderItem, ("order",)),  # their items
        (Invoice, ("order",)),  # which of them have an invoice (account options)
        (ChannelAction, ("order", "state")),  # their open and failed actions (sync state)
    )
    GROWTH = 2  # ANALYZE again after the orders grew by 1/GROWTH
    AT_LEAST = 2000

    def __init__(self) -> None:
        self.enabled = connection.vendor == "postgresql" and not connection.in_atomic_block
        self.analyzed_at = 0
        self.rows_then = self._estimated_orders() if self.enabled else 0

    def after(self, *, written: int) -> None:
        if self.enabled and written - self.analyzed_at >= max(self.AT_LEAST, self.rows_then // self.GROWTH):
            self.analyze()
            self.analyzed_at, self.rows_then = written, self._estimated_orders()

    def analyze(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {', '.join(self.analyzed_columns())}")

    @classmethod
    def analyzed_columns(cls) -> list[str]:
        """`table (column, …)` of each table the import grows, for ANALYZE."""
        return [f"{model._meta.db_table} ({', '.join(model._meta.get_field(name).column for name in names)})"
                for model, names in cls.LOOKUPS]

    @staticmethod
    def _estimated_orders() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT GREATEST(reltuples, 0)::bigint FROM pg_class WHERE relname = %s",
                           [Order._meta.db_table])
            row = cursor.fetchone()
        return row[0] if row else 0


@contextmanager
def fewer_collections() -> Iterator[None]:
    """A page makes ~100,000 short-lived objects, freed by reference counting; Python's cycle
    collector would still walk the young ones every 700 allocations (a fifth of the import's CPU).
    Collect rarely while importing; memory stays bounded by the larger threshold."""
    thresholds = gc.get_threshold()
    gc.set_threshold(200_000, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


# Errors that belong to one order's data. Anything else (a deadlock, a lost connection) ends the run.
ORDER_STORAGE_ERRORS = (DataError, IntegrityError, ValueError, TypeError, ArithmeticError)
FREE_TEXT_COLUMNS = (("buyer_name", 255), ("buyer_email", 255), ("buyer_phone", 64), ("shipping_method", 64))


def upsert_page(*, account: ChannelAccount, page: OrderPage, result: ImportResult) -> None:
    """Store a listing page order by order on its own terms (issue 8 §1): unreadable orders are kept
    aside as import problems; when one order sinks the page's bulk write, each order is stored in
    its own transaction and only the failing one is kept aside. Orders stored resolve their problems."""
    readable: list[ChannelOrder] = []
    for entry in page:
        if isinstance(entry, UnreadableOrder):
            import_problem_record(account=account, channel_order_id=entry.channel_order_id, raw=entry.raw,
                                  reason=entry.reason)
            result.problems += 1
        else:
            _log_cut_text(account, entry)
            readable.append(entry)
    stored, outcome = readable, ImportResult()
    try:
        upsert_orders(account=account, channel_orders=readable, result=outcome)
    except ORDER_STORAGE_ERRORS:
        logger.warning("page of %s could not be stored in bulk; storing its orders one by one", account.title,
                       exc_info=True)
        stored, outcome = [], ImportResult()
        for channel_order in readable:
            try:
                upsert_orders(account=account, channel_orders=[channel_order], result=outcome)
            except ORDER_STORAGE_ERRORS as failure:
                raw = json_value(channel_order.raw)
                reason = unstorable_text(raw) or f"the order could not be stored: {failure}"
                import_problem_record(account=account, channel_order_id=channel_order.channel_order_id, raw=raw,
                                      reason=reason)
                result.problems += 1
            else:
                stored.append(channel_order)
    result.add(outcome)
    import_problems_resolve(account=account, channel_order_ids={order.channel_order_id for order in stored})


def _log_cut_text(account: ChannelAccount, channel_order: ChannelOrder) -> None:
    """Over-long free text is cut to its column when stored; say so (ids are never cut: see validation)."""
    texts = [(name, getattr(channel_order, name), limit) for name, limit in FREE_TEXT_COLUMNS]
    texts += [(f"line {line.line_id} {name}", getattr(line, name), limit)
              for line in channel_order.lines for name, limit in (("title", 255), ("sku", 100))]
    for name, value, limit in texts:
        if len(value) > limit:
            logger.info("%s order %s: %s cut from %d to %d characters", account.title,
                        channel_order.channel_order_id, name, len(value), limit)


def upsert_returns(*, account: ChannelAccount, channel_returns: list[ChannelReturn]) -> int:
    """Link the channel's returns (RMAs) to orders and lines; returns how many were new."""
    orders = {
        order.channel_order_id: order
        for order in Order.objects.filter(
            account=account, channel_order_id__in={r.channel_order_id for r in channel_returns}
        ).prefetch_related("items")
    }
    created = 0
    with transaction.atomic():
        # The lock order (orders.locks): the orders before their own rows. A credit memo locks the
        # order, then its open return lines; writing those lines unlocked and then a log line of the
        # order (its foreign key waits on the memo's lock) could wait on the memo in a circle.
        lock_order_rows(order.pk for order in orders.values())
        for channel_return in channel_returns:
            order = orders.get(channel_return.channel_order_id)
            if order is None:
                continue  # an order we have not imported (older than the import window)
            items = {number: item for item in order.items.all() for number in (item.channel_line_numbers or [item.channel_line_id])}
            order_return, is_new = OrderReturn.objects.update_or_create(
                order=order, return_order_id=channel_return.return_order_id,
                defaults={"status": channel_return.status[:32], "created_on_channel": channel_return.created_at,
                          "raw_payload": channel_return.raw},
            )
            for line in channel_return.lines:
                item = items.get(line.line_number)
                if item is None:
                    continue
                # The refund figures are the channel's: always as it shows them now. Its refunded
                # quantity only ever raises ours (a memo of ours counts its units before Walmart does).
                refund_figures = {"unit_price": line.unit_price, "unit_tax": line.unit_tax,
                                  "excess_price": line.excess_price, "excess_tax": line.excess_tax,
                                  "last_item": line.last_item}
                return_line, is_new_line = OrderReturnLine.objects.get_or_create(
                    order_return=order_return, return_line_number=line.return_line_number,
                    defaults={"order_item": item, "channel_line_number": line.line_number, "qty": line.qty,
                              **refund_figures},
                )
                changed = [] if is_new_line else [
                    name for name, value in refund_figures.items() if getattr(return_line, name) != value]
                for name in changed:
                    setattr(return_line, name, refund_figures[name])
                if line.qty_refunded > return_line.qty_refunded:
                    return_line.qty_refunded = min(line.qty_refunded, return_line.qty)
                    changed.append("qty_refunded")
                if changed:
                    return_line.save(update_fields=changed)
            if is_new:
                created += 1
                summary = ", ".join(f"{items[l.line_number].sku} × {l.qty}" for l in channel_return.lines
                                    if l.line_number in items)
                order_log_write_many(entries=[LogEntry(order.pk, f"Return {channel_return.return_order_id} opened on "
                                                       f"{account.get_channel_display()}: {summary}.", Type.WARNING,
                                                       Initiator.CHANNEL)])
    return created


def upsert_orders(*, account: ChannelAccount, channel_orders: list[ChannelOrder], result: ImportResult) -> None:
    """Create or update one page of orders in one transaction, with what the account's options owe
    them (orders.services.automation). Locks follow the code base's one order (orders.locks): the
    account, the page's known orders by pk, their items, number counters, products last. Known
    orders are read after their lock, so nothing an operator changed meanwhile is written back."""
    latest: dict[str, ChannelOrder] = {}
    for channel_order in channel_orders:
        seen = latest.get(channel_order.channel_order_id)
        if seen is None or channel_order.updated_at >= seen.updated_at:
            latest[channel_order.channel_order_id] = channel_order
    with transaction.atomic():
        lock_account_for_import(account.pk)
        existing = {order.channel_order_id: order for order in lock_orders(
            Order.objects.filter(account=account, channel_order_id__in=list(latest)).values_list("pk", flat=True))}
        items = items_for_update(order_ids=[order.pk for order in existing.values()])
        products = Product.objects.in_bulk({line.sku for order in latest.values() for line in order.lines},
                                           field_name="sku")
        shipments = _shipments_by_order(account, existing, latest)
        page = PageWrite()
        with stock_moves():
            created = _create_orders(account, [o for key, o in latest.items() if key not in existing], products, page)
            updated = [existing[key] for key, channel_order in latest.items()
                       if key in existing and _update_order(existing[key], channel_order, items[existing[key].pk],
                                                            products, page, shipments.get(existing[key].pk, []))]
            _automate_updated(account, updated, items, page)
        page.shipments.write()
        page.entries += oversold_warnings(items_by_order=page.reserved_items, user_id=None)
        order_log_write_many(entries=page.entries)
        result.created += created
        result.updated += len(updated)
        result.unchanged += len(existing) - len(updated)


@dataclass
class PageWrite:
    """What one page's transaction writes besides its orders: log lines (in story order), and the
    items whose store order reserved stock (checked for overselling once stock is written)."""

    entries: list[LogEntry] = field(default_factory=list)
    reserved_items: dict[int, list[OrderItem]] = field(default_factory=dict)
    shipments: ShipmentWrites = field(default_factory=ShipmentWrites)


def _shipments_by_order(account: ChannelAccount, existing: dict[str, Order],
                        latest: dict[str, ChannelOrder]) -> dict[int, list[Shipment]]:
    """The shipments, with their items, of the known orders the channel reports shipped units of:
    what the packages it reports are matched against (R-ACC-5)."""
    if not account.auto_shipment:
        return {}
    shipped = [order.pk for key, order in existing.items() if any(line.qty_shipped for line in latest[key].lines)]
    by_order: dict[int, list[Shipment]] = {}
    for shipment in (Shipment.objects.filter(Shipment.STANDING, order_id__in=shipped).prefetch_related("items")
                     .order_by("pk")):
        by_order.setdefault(shipment.order_id, []).append(shipment)
    return by_order


# -- new orders -------------------------------------------------------------------------------------

def _create_orders(account: ChannelAccount, channel_orders: list[ChannelOrder], products: dict,
                   page: PageWrite) -> int:
    """Build the new orders in memory, apply the account options to them, then write everything."""
    if not channel_orders:
        return 0
    orders, items_by_order = [], {}
    now = timezone.now()
    imported_from = f"Imported from {account.get_channel_display()}"
    status_labels = dict(OrderStatus.choices)
    for channel_order, pk in zip(channel_orders, reserve_ids(Order, len(channel_orders))):
        items = [_new_item(line, products, order_id=pk) for line in channel_order.lines]
        order = new_row(
            Order,
            id=pk,
            account_id=account.pk,
            marketplace_id=account.marketplace_id,
            channel=account.channel,
            **_order_fields(channel_order),
            acknowledged_at=now if channel_order.is_acknowledged else None,
            channel_read_at=now,
            created_at=now,
            updated_at=now,
        )
        order.account = account
        _set_totals(order, items)
        order.refunded_total = min(sum((item.refunded_amount for item in items), Decimal("0")), order.grand_total)
        order.status = order_status_of(order, items)
        orders.append(order)
        items_by_order[pk] = items
        page.entries.append(LogEntry(pk, f"{imported_from} ({status_labels[order.status]}).",
                                     initiator=Initiator.CHANNEL))
        page.entries += [_buyer_cancel_line(order, item.sku, item.buyer_cancel_reason)
                         for item in items if item.buyer_cancel_requested]
    automation = None
    if account_has_options(account):
        automation = apply_account_options(account=account, orders=orders, items_by_order=items_by_order, invoiced=set())
        mark_waiting(queued.order for queued in automation.actions)
        page.entries += automation.entries
        page.reserved_items.update({order.pk: items_by_order[order.pk] for order in automation.stored})
    copy_insert(orders, with_pk=True)
    copy_insert([item for items in items_by_order.values() for item in items])
    if automation:
        enqueue_actions(actions=automation.actions, new_orders=True, log=False)
        copy_insert(automation.invoices)
    if account.auto_shipment:
        _record_first_shipments(orders, channel_orders, items_by_order, page)
    return len(orders)


def _record_first_shipments(orders: list[Order], channel_orders: list[ChannelOrder],
                            items_by_order: dict[int, list[OrderItem]], page: PageWrite) -> None:
    """R-ACC-5 for new orders the channel reports shipped units of; their items were inserted
    without reading their ids back, so those of the shipped orders are read here, in one query."""
    shipped = [(order, channel_order) for order, channel_order in zip(orders, channel_orders)
               if any(item.qty_shipped for item in items_by_order[order.pk])]
    if not shipped:
        return
    ids = {(order_id, line_id): pk for order_id, line_id, pk in OrderItem.objects.filter(
        order_id__in=[order.pk for order, _ in shipped]).values_list("order_id", "channel_line_id", "pk")}
    for order, channel_order in shipped:
        items = items_by_order[order.pk]
        for item in items:
            item.pk = ids[(order.pk, item.channel_line_id)]
        page.entries += order_shipments_from_channel(
            order=order, channel_order=channel_order, items=items, shipments=[], writes=page.shipments,
            newly_shipped={item.channel_line_id: item.qty_shipped for item in items})


def _set_totals(order: Order, items: Iterable[OrderItem]) -> None:
    items = list(items)
    order.subtotal = sum((item.unit_price * item.qty_ordered for item in items), Decimal("0")).quantize(CENT)
    order.tax_total = sum((item.tax for item in items), Decimal("0")).quantize(CENT)
    order.shipping_total = sum((item.shipping_charge for item in items), Decimal("0")).quantize(CENT)
    order.grand_total = order.subtotal + order.tax_total + order.shipping_total


def _buyer_cancel_line(order: Order, sku: str, reason: str) -> LogEntry:
    reason = reason.strip().rstrip(".")
    return LogEntry(order.pk, f"Buyer requested cancellation of {sku}" + (f": {reason}" if reason else "") + ".",
                    Type.WARNING, Initiator.CHANNEL)


def _automate_updated(account: ChannelAccount, orders: list[Order], items: dict[int, list[OrderItem]],
                      page: PageWrite) -> None:
    """Known orders the channel changed may now qualify for the options (an Amazon order paid)."""
    if not orders or not account_has_options(account):
        return
    invoiced = set(Invoice.objects.filter(order__in=orders).values_list("order_id", flat=True))
    automation = apply_account_options(account=account, orders=orders, items_by_order=items, invoiced=invoiced)
    changed = {order.pk: order for order in automation.stored + automation.acknowledged}.values()
    Order.objects.bulk_update(changed, ["store_order_number", "store_order_created_at", "acknowledged_at", "status",
                                        "updated_at"])
    OrderItem.objects.bulk_update([item for order in automation.stored for item in items[order.pk]],
                                  ["product", "qty_reserved"])
    page.entries += automation.entries
    page.reserved_items.update({order.pk: items[order.pk] for order in automation.stored})
    enqueue_actions(actions=automation.actions, log=False)
    Invoice.objects.bulk_create(automation.invoices)


def _order_fields(channel_order: ChannelOrder) -> dict:
    return {
        "channel_order_id": channel_order.channel_order_id,
        "customer_order_id": channel_order.customer_order_id,
        "channel_status": channel_order.status[:32],
        "is_paid": channel_order.is_paid,
        "buyer_cancel_requested": channel_order.buyer_cancel_requested,
        "fulfillment": channel_order.fulfillment,
        "buyer_name": channel_order.buyer_name[:255],
        "buyer_email": channel_order.buyer_email[:255],
        "buyer_phone": channel_order.buyer_phone[:64],
        "shipping_address": channel_order.shipping_address,
        "shipping_method": channel_order.shipping_method[:64],
        "sale_date": channel_order.sale_date,
        "ship_by_date": _ship_by(channel_order),
        "channel_updated_at": channel_order.updated_at,
        "currency": channel_order.currency,
        "raw_payload": channel_order.raw,
    }


def _ship_by(channel_order: ChannelOrder) -> dt.datetime | None:
    """A ship-by date before the sale (bad channel data) is read as the sale date itself."""
    ship_by = channel_order.ship_by_date
    return max(ship_by, channel_order.sale_date) if ship_by and channel_order.sale_date else ship_by


def _new_item(line: ChannelLine, products: dict, *, order_id: int | None = None) -> OrderItem:
    product = products.get(line.sku)
    return new_row(
        OrderItem,
        order_id=order_id,
        channel_line_id=line.line_id,
        channel_line_numbers=list(line.line_numbers),
        sku=line.sku[:100],
        title=line.title[:255],
        product_id=product.pk if product else None,
        qty_ordered=line.qty_ordered,
        qty_shipped=line.qty_shipped,
        qty_canceled=line.qty_canceled,
        unit_price=line.unit_price.quantize(CENT),
        tax=line.tax.quantize(CENT),
        shipping_charge=line.shipping_charge.quantize(CENT),
        refunded_amount=line.refunded_amount.quantize(CENT),
        channel_line_status=line.status[:32],
        buyer_cancel_requested=line.buyer_cancel_requested,
        buyer_cancel_reason=line.buyer_cancel_reason[:255],
    )


# -- known orders -----------------------------------------------------------------------------------

ORDER_UPDATE_FIELDS = ["channel_status", "channel_updated_at", "channel_read_at", "raw_payload", "buyer_cancel_requested",
                       "acknowledged_at", "is_paid", "ship_by_date", "refunded_total", "updated_at"]


def _update_order(order: Order, channel_order: ChannelOrder, order_items: list[OrderItem], products: dict,
                  page: PageWrite, shipments: list[Shipment]) -> bool:
    """Apply newer channel data to a locked order and its locked items (`order_items`, extended with
    new lines) and shipments; True if anything the operator sees changed. Only what the channel owns
    is written. Packages the order lacks are added even when the order itself is unchanged: a
    resync mends orders imported before every package was read."""
    if order.channel_updated_at and channel_order.updated_at < order.channel_updated_at:
        return False  # older than what was applied: never let it undo a newer state
    channel = order.account.get_channel_display()
    items = {item.channel_line_id: item for item in order_items}
    entries: list[LogEntry] = []
    changed_items, new_items = [], []
    newly_shipped: dict[str, int] = {}
    for line in channel_order.lines:
        item = items.get(line.line_id)
        if item is None:
            new_items.append(_new_item(line, products, order_id=order.pk))
            continue
        if _apply_line(order, item, line, entries, channel, newly_shipped):
            changed_items.append(item)
    shipment_entries = order_shipments_from_channel(
        order=order, channel_order=channel_order, items=order_items + new_items, shipments=shipments,
        newly_shipped=newly_shipped, writes=page.shipments) if order.account.auto_shipment else []
    changed = bool(changed_items or new_items or entries or shipment_entries)
    if channel_order.is_acknowledged and order.acknowledged_at is None:
        order.acknowledged_at = timezone.now()
        changed = True
    if channel_order.status != order.channel_status or channel_order.is_paid != order.is_paid:
        changed = True
    if not changed and channel_order.updated_at == order.channel_updated_at:
        return False
    if channel_order.is_paid and not order.is_paid:
        _read_money_and_address(order, channel_order, items, entries)
    order.channel_status = channel_order.status[:32]
    order.channel_updated_at = channel_order.updated_at
    order.channel_read_at = timezone.now()
    order.raw_payload = json_value(channel_order.raw)
    order.ship_by_date = _ship_by(channel_order) or order.ship_by_date
    order.buyer_cancel_requested = channel_order.buyer_cancel_requested
    order.is_paid = order.is_paid or channel_order.is_paid  # paid never becomes unpaid again
    order.save(update_fields=ORDER_UPDATE_FIELDS)
    if changed_items:
        OrderItem.objects.bulk_update(changed_items, ["qty_shipped", "qty_canceled", "qty_reserved", "refunded_amount",
                                                      "channel_line_status", "channel_line_numbers",
                                                      "buyer_cancel_requested", "buyer_cancel_reason"])
    if new_items:
        OrderItem.objects.bulk_create(new_items)
        order_items += new_items
        entries.append(LogEntry(order.pk, f"{len(new_items)} new line(s) from {channel}.", initiator=Initiator.CHANNEL))
    page.entries += entries + shipment_entries
    if changed:
        page.entries += orders_refresh_status(orders=[order], items_by_order={order.pk: order_items},
                                              initiator=Initiator.CHANNEL)
    return changed


PAID_ORDER_FIELDS = ["buyer_name", "buyer_email", "buyer_phone", "shipping_address", "shipping_method", "currency",
                     "subtotal", "tax_total", "shipping_total", "grand_total"]


def _read_money_and_address(order: Order, channel_order: ChannelOrder, items: dict[str, OrderItem],
                            entries: list[LogEntry]) -> None:
    """Issue 8 §5: Amazon withholds prices and the address while an order is Pending; once it is paid
    they are read (before the store order is made from them). Channel-owned fields only."""
    lines = {line.line_id: line for line in channel_order.lines}
    priced = [item for line_id, item in items.items() if line_id in lines]
    for item in priced:
        line = lines[item.channel_line_id]
        item.unit_price, item.tax = line.unit_price.quantize(CENT), line.tax.quantize(CENT)
        item.shipping_charge = line.shipping_charge.quantize(CENT)
    OrderItem.objects.bulk_update(priced, ["unit_price", "tax", "shipping_charge"])
    fields = _order_fields(channel_order)
    for name in PAID_ORDER_FIELDS[:6]:
        setattr(order, name, fields[name])
    _set_totals(order, items.values())
    order.save(update_fields=PAID_ORDER_FIELDS)
    entries.append(LogEntry(order.pk, f"Paid on {order.account.get_channel_display()}: prices and address read "
                            f"(total {order.grand_total} {order.currency}).", initiator=Initiator.CHANNEL))


def _refused_change_only(order: Order) -> bool:
    """Whether the order's local quantities may differ from the channel's only by a change the
    channel refused: one of its actions failed and none is on its way. (A conflict is rare: asked
    then, not for every order of a page.)"""
    states = set(ChannelAction.objects.filter(order=order).exclude(state=ChannelAction.State.SUCCEEDED)
                 .values_list("state", flat=True).distinct())
    return ChannelAction.State.FAILED in states and not states & set(ChannelAction.OPEN_STATES)


def _apply_line(order: Order, item: OrderItem, line: ChannelLine, entries: list[LogEntry], channel: str,
                newly_shipped: dict[str, int]) -> bool:
    before = (item.qty_shipped, item.qty_canceled, item.refunded_amount, item.channel_line_status,
              item.buyer_cancel_requested, list(item.channel_line_numbers))
    shipped = max(item.qty_shipped, line.qty_shipped)
    canceled = max(item.qty_canceled, line.qty_canceled)
    if shipped + canceled > item.qty_ordered:
        if _refused_change_only(order):
            # Ours is a change the channel refused (it shipped or canceled these units itself first):
            # what the channel did is what happened. Units we marked shipped stay out of stock: only
            # the warehouse knows whether they left.
            entries.append(LogEntry(order.pk, f"{channel} reports {item.sku} shipped {line.qty_shipped} / canceled "
                                    f"{line.qty_canceled}: our change of these units failed on {channel}, so "
                                    f"{channel}'s quantities are taken (shipped {item.qty_shipped} → "
                                    f"{line.qty_shipped}, canceled {item.qty_canceled} → {line.qty_canceled}).",
                                    Type.WARNING, Initiator.CHANNEL))
            item.qty_shipped = min(item.qty_shipped, line.qty_shipped)
            item.qty_canceled = min(item.qty_canceled, line.qty_canceled)
            shipped, canceled = line.qty_shipped, line.qty_canceled
        else:
            entries.append(LogEntry(order.pk, f"{channel} reports {item.sku} shipped {line.qty_shipped} / canceled "
                                    f"{line.qty_canceled}, which conflicts with the local quantities; kept the local "
                                    "ones.", Type.WARNING, Initiator.CHANNEL))
            shipped, canceled = item.qty_shipped, item.qty_canceled
    if canceled > item.qty_canceled:
        qty = canceled - item.qty_canceled
        release_reservation(item=item, qty=qty)
        entries.append(LogEntry(order.pk, f"Canceled on {channel}: {item.sku} × {qty}.", Type.WARNING, Initiator.CHANNEL))
    if shipped > item.qty_shipped:
        qty = shipped - item.qty_shipped
        consume_for_shipment(item=item, qty=qty)
        newly_shipped[item.channel_line_id] = qty
        entries.append(LogEntry(order.pk, f"Shipped on {channel}: {item.sku} × {qty}.", Type.NOTICE, Initiator.CHANNEL))
    if line.buyer_cancel_requested and not item.buyer_cancel_requested:
        entries.append(_buyer_cancel_line(order, item.sku, line.buyer_cancel_reason))
    item.qty_shipped, item.qty_canceled = shipped, canceled
    refunded_there = line.refunded_amount.quantize(CENT)
    if refunded_there > item.refunded_amount:
        # Money the channel gave back beyond what our memos asked of this line has left the merchant:
        # recorded on the line and the order, and said, never slipped in.
        more = refunded_there - item.refunded_amount
        entries.append(LogEntry(order.pk, f"{channel} shows {refunded_there} {order.currency} refunded on {item.sku}, "
                                f"{more} more than this order's credit memos refunded there (a refund made on "
                                f"{channel}, or one sent twice): recorded as refunded.", Type.WARNING, Initiator.CHANNEL))
        order.refunded_total = min(order.refunded_total + more, order.grand_total)
        item.refunded_amount = refunded_there
    item.channel_line_status = line.status[:32]
    item.buyer_cancel_requested = item.buyer_cancel_requested or line.buyer_cancel_requested
    item.buyer_cancel_reason = line.buyer_cancel_reason[:255] or item.buyer_cancel_reason
    if sorted(line.line_numbers) == sorted(item.channel_line_numbers or []):
        item.channel_line_numbers = list(line.line_numbers)
    after = (item.qty_shipped, item.qty_canceled, item.refunded_amount, item.channel_line_status,
             item.buyer_cancel_requested, list(item.channel_line_numbers))
    return before != after
