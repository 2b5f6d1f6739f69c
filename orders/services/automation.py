"""The account's order options (R-ACC-1, R-ACC-2, R-ACC-4), applied to a page of orders at once.

The import applies them in the same transaction that stores the page, to the page's new orders
before they are written and to the orders it updated (locked), so an order is never stored without
what its account's options owe it: no interruption — a killed worker, a dropped connection — can
leave an order without its store order or acknowledgement (issue 8 §3). The work is set-based:
one block of store order and invoice numbers per page, stock movements collected and written
once, outbox rows, invoices and log lines in bulk (issue 8 §6).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from channels.capabilities import rules_for
from channels.models import ChannelAccount

from ..log import LogEntry
from ..models import Invoice, Order, OrderItem, OrderStatus
from ..outbox import QueuedAction, queued_lines
from ..status import orders_refresh_status
from .acknowledge import acknowledge, acknowledge_refusal
from .invoices import invoice_orders
from .store_orders import give_store_orders, store_order_refusal

INVOICED_STATUSES = (OrderStatus.UNSHIPPED, OrderStatus.PARTIALLY_SHIPPED)


@dataclass
class Automation:
    """What the options did to the orders, still to be written by the caller."""

    entries: list[LogEntry] = field(default_factory=list)  # in the order they tell the story
    actions: list[QueuedAction] = field(default_factory=list)
    invoices: list[Invoice] = field(default_factory=list)
    stored: list[Order] = field(default_factory=list)  # orders given a store order
    acknowledged: list[Order] = field(default_factory=list)


def account_has_options(account: ChannelAccount) -> bool:
    return account.create_store_order or account.auto_invoice


def apply_account_options(*, account: ChannelAccount, orders: list[Order], items_by_order: dict[int, list[OrderItem]],
                          invoiced: set[int]) -> Automation:
    """Apply the options to these orders in memory (new ones, or locked ones with their locked
    items; `invoiced`: those of them that have an invoice already). Stock movements go to the
    surrounding `stock_moves()`; statuses change on the objects only."""
    done = Automation()
    if account.create_store_order:
        done.stored = [order for order in orders if store_order_refusal(order) is None]
        done.entries += give_store_orders(orders=done.stored, items_by_order=items_by_order, user_id=None)
        # R-ACC-2: with automatic store orders, Walmart orders are acknowledged too.
        if rules_for(account.channel).acknowledges_orders:
            done.acknowledged = [order for order in done.stored if acknowledge_refusal(order) is None]
            done.actions = acknowledge(orders=done.acknowledged)
            done.entries += queued_lines(actions=done.actions, user_id=None)
            done.entries += orders_refresh_status(orders=done.acknowledged, items_by_order=items_by_order, save=False,
                                                  awaiting_channel=True)
    if account.auto_invoice:
        to_invoice = [order for order in orders if order.store_order_number and order.pk not in invoiced
                      and order.status in INVOICED_STATUSES]
        done.invoices, lines = invoice_orders(orders=to_invoice)
        done.entries += lines
    return done
