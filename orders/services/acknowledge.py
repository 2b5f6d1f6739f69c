"""Acknowledging Walmart orders (Created → Unshipped; R-ACC-2)."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from channels.capabilities import rules_for

from ..locks import lock_order
from ..models import ChannelAction, Order, OrderStatus
from ..outbox import enqueue_action
from ..status import order_refresh_status
from .errors import OrderActionRefused


def order_acknowledge(*, order_id: int, user: AbstractBaseUser | None = None) -> Order:
    with transaction.atomic():
        order = lock_order(order_id)
        if not rules_for(order.channel).acknowledges_orders:
            raise OrderActionRefused(f"{order.get_channel_display()} orders are not acknowledged")
        if order.acknowledged_at:
            raise OrderActionRefused("already acknowledged")
        if order.status == OrderStatus.CANCELED:
            raise OrderActionRefused("order is canceled")
        order.acknowledged_at = timezone.now()
        order.save(update_fields=["acknowledged_at", "updated_at"])
        enqueue_action(order=order, kind=ChannelAction.Kind.ACKNOWLEDGE, description="Acknowledge", user=user)
        order_refresh_status(order=order, user=user)
    return order
