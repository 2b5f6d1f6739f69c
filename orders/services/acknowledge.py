"""Acknowledging Walmart orders (Created → Unshipped; R-ACC-2), one or many at once."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from channels.capabilities import rules_for

from ..locks import lock_orders
from ..log import order_log_write_many
from ..models import ChannelAction, Order, OrderStatus
from ..outbox import QueuedAction, enqueue_actions
from ..status import orders_refresh_status
from .errors import OrderActionRefused
from .store_orders import items_for_update


def acknowledge_refusal(order: Order) -> OrderActionRefused | None:
    if not rules_for(order.channel).acknowledges_orders:
        return OrderActionRefused(f"{order.get_channel_display()} orders are not acknowledged")
    if order.acknowledged_at:
        return OrderActionRefused("already acknowledged")
    if order.status == OrderStatus.CANCELED:
        return OrderActionRefused("order is canceled")
    return None


def acknowledge(*, orders: Iterable[Order]) -> list[QueuedAction]:
    """Mark the orders acknowledged (in memory) and return the channel actions that tell the channel."""
    now = timezone.now()
    queued = []
    for order in orders:
        order.acknowledged_at = order.updated_at = now
        queued.append(QueuedAction(order, ChannelAction.Kind.ACKNOWLEDGE, "Acknowledge"))
    return queued


def order_acknowledge(*, order_id: int, user: AbstractBaseUser | None = None) -> Order:
    acknowledged, refused = orders_acknowledge(order_ids=[order_id], user=user)
    if refused:
        raise refused[order_id]
    return acknowledged[0]


def orders_acknowledge(*, order_ids: Iterable[int], user: AbstractBaseUser | None = None
                       ) -> tuple[list[Order], dict[int, OrderActionRefused]]:
    """Acknowledge these orders at once: the ones acknowledged, and why the others were refused."""
    with transaction.atomic():
        orders = lock_orders(order_ids)
        refused = {order.pk: refusal for order in orders if (refusal := acknowledge_refusal(order))}
        chosen = [order for order in orders if order.pk not in refused]
        queued = acknowledge(orders=chosen)
        Order.objects.bulk_update(chosen, ["acknowledged_at", "updated_at"])
        enqueue_actions(actions=queued, user=user)
        order_log_write_many(entries=orders_refresh_status(
            orders=chosen, items_by_order=items_for_update(order_ids=[order.pk for order in chosen]),
            user_id=user.pk if user else None, awaiting_channel=True))
    return chosen, refused
