"""Canceling an order from the back-office (R-CAN-1..5): the whole store order, every open unit, from
the grid's bulk Cancel and from the order page alike. Part of an order is canceled by a credit memo
(creditmemos), never here (R-CAN-5)."""

from dataclasses import dataclass

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


@dataclass(frozen=True)
class CancelLine:
    item: OrderItem
    qty: int
    channel_lines: tuple[dict, ...]  # the channel's line entries that carry these units

    @property
    def line_numbers(self) -> str:
        return ", ".join(str(line["line_number"]) for line in self.channel_lines)


@dataclass(frozen=True)
class CancelPlan:
    """What a cancellation sends the channel: its lines and units, and the channel's reason code."""

    reason: str
    lines: tuple[CancelLine, ...]
    requests: int = 1  # R-CAN-3: the channel takes at most max_lines_per_cancel lines a request

    @property
    def summary(self) -> str:
        return ", ".join(f"{line.item.sku} × {line.qty}" for line in self.lines)


def cancel_plan(*, order: Order, items: list[OrderItem], reason: str) -> CancelPlan:
    """The cancellation of every open unit of the order's `items` (shipped units stay, R-CAN-2), or
    OrderActionRefused in plain words for what the channel does not take: no open unit, the buyer's
    reason on lines the buyer did not ask to cancel. Changes nothing."""
    rules = rules_for(order.channel)
    channel_reason = rules.cancel_reason(reason)
    if not channel_reason:
        raise OrderActionRefused("a valid cancellation reason is required", reason or "none given")
    if order.status == OrderStatus.CANCELED:
        raise OrderActionRefused("order is canceled")
    if order.status == OrderStatus.PENDING:
        raise OrderActionRefused("Amazon order is Pending (not paid): cancel it on Amazon")
    open_units = [(item, item.qty_open) for item in items if item.qty_open > 0]
    if not open_units:
        raise OrderActionRefused("nothing left to cancel (shipped lines cannot be canceled)")
    not_asked = [item.sku for item, _ in open_units if not item.buyer_cancel_requested]
    if channel_reason == rules.buyer_cancel_reason and not_asked:
        raise OrderActionRefused("the buyer did not request cancellation", f"of {', '.join(not_asked)}")
    lines = tuple(CancelLine(item=item, qty=qty, channel_lines=tuple(lines_to_cancel(item=item, qty=qty)))
                  for item, qty in open_units)
    entries = sum(len(line.channel_lines) for line in lines)
    return CancelPlan(reason=channel_reason, lines=lines, requests=-(-entries // rules.max_lines_per_cancel))


def order_cancel(*, order_id: int, reason: str, user: AbstractBaseUser | None = None) -> Order:
    """Cancel every open unit (shipped units stay, R-CAN-2) and queue the cancel for the channel, as
    cancel_plan decides it on the locked order."""
    with transaction.atomic(), stock_moves():  # stock written last, products in pk order (orders.locks)
        order = lock_order(order_id)
        items = list(order.items.select_for_update().order_by("pk"))
        plan = cancel_plan(order=order, items=items, reason=reason)
        for line in plan.lines:
            line.item.qty_canceled += line.qty
            release_reservation(item=line.item, qty=line.qty)
        OrderItem.objects.bulk_update([line.item for line in plan.lines], ["qty_canceled", "qty_reserved"])
        label = reason_label(plan.reason)
        order_log_write(order=order, user=user, message=f"Cancellation requested: {plan.summary}; reason: {label}.")
        enqueue_cancel_lines(order=order, lines=[entry for line in plan.lines for entry in line.channel_lines],
                             reason=plan.reason, description=f"Cancel, {label}", user=user)
        order_refresh_status(order=order, user=user, awaiting_channel=True)
    return order
