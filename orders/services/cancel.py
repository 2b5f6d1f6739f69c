"""Canceling an order from the back-office (R-CAN-1..5): the whole store order, every open unit."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from channels.capabilities import rules_for
from channels.reasons import reason_label

from ..locks import lock_order
from ..log import order_log_write
from ..models import ChannelAction, Order, OrderItem, OrderStatus
from ..outbox import enqueue_action
from ..status import order_refresh_status
from .channel_lines import lines_to_cancel
from .errors import OrderActionRefused
from .stock import release_reservation, stock_moves


def enqueue_cancel_lines(*, order: Order, lines: list[dict], reason: str, description: str, user=None) -> list[ChannelAction]:
    """R-CAN-3: at most the channel's line limit per request; more lines make several actions."""
    limit = rules_for(order.channel).max_lines_per_cancel
    chunks = [lines[start:start + limit] for start in range(0, len(lines), limit)]
    return [
        enqueue_action(
            order=order,
            kind=ChannelAction.Kind.CANCEL,
            description=description if len(chunks) == 1 else f"{description} (part {n} of {len(chunks)})",
            payload={"lines": chunk, "reason": reason},
            user=user,
        )
        for n, chunk in enumerate(chunks, start=1)
    ]


def order_cancel(*, order_id: int, reason: str, user: AbstractBaseUser | None = None) -> Order:
    """Cancel every open unit and queue the cancel for the channel. Shipped units stay (R-CAN-2)."""
    with transaction.atomic(), stock_moves():  # stock written last, products in pk order (orders.locks)
        order = lock_order(order_id)
        rules = rules_for(order.channel)
        channel_reason = rules.cancel_reason(reason)
        if not channel_reason:
            raise OrderActionRefused("a valid cancellation reason is required", reason or "none given")
        reason = channel_reason
        if order.status == OrderStatus.CANCELED:
            raise OrderActionRefused("order is canceled")
        if order.status == OrderStatus.PENDING:
            raise OrderActionRefused("Amazon order is Pending (not paid): cancel it on Amazon")
        items = [item for item in order.items.select_for_update().order_by("pk") if item.qty_open > 0]
        if not items:
            raise OrderActionRefused("nothing left to cancel (shipped lines cannot be canceled)")
        if reason == rules.buyer_cancel_reason and not all(item.buyer_cancel_requested for item in items):
            raise OrderActionRefused("the buyer did not request cancellation", reason)

        lines, summary = [], []
        for item in items:
            qty = item.qty_open
            lines += lines_to_cancel(item=item, qty=qty)
            item.qty_canceled += qty
            release_reservation(item=item, qty=qty)
            summary.append(f"{item.sku} × {qty}")
        OrderItem.objects.bulk_update(items, ["qty_canceled", "qty_reserved"])
        order_log_write(order=order, user=user,
                        message=f"Cancellation requested: {', '.join(summary)}; reason: {reason_label(reason)}.")
        enqueue_cancel_lines(order=order, lines=lines, reason=reason, description=f"Cancel, {reason_label(reason)}",
                             user=user)
        order_refresh_status(order=order, user=user, awaiting_channel=True)
    return order
