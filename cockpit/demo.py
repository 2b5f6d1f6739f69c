"""Demo data for the cockpit (`make run`): late, at-risk and drifted orders and 90 days of history,
so Today, seller performance, the charts and Needs attention have something to show.

`manage.py cockpit_demo` adds them once the demo accounts exist; a second call adds nothing. The
orders exist only here (the sandbox does not know them), so seed_demo, whose orders are all real
sandbox orders, does not call it.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import replace
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from channels.clients import ChannelLine, ChannelOrder, TrackingInfo
from channels.models import Channel, ChannelAccount
from orders.filters import AUTO_CANCEL_WARNING, auto_cancel_deadline
from orders.models import ChannelAction, Order, OrderItem, OrderLog, OrderStatus, Shipment, SyncState
from tests.factories import ChannelActionFactory, ShipmentFactory, create_order

from .models import ReconciliationRun
from .reconciliation import REPORTS_TRACKING_AND_REFUNDS, order_differences, record_differences
from .stats import HISTORY_DAYS, stats_refresh

PREFIX = "CKPT-"  # the demo's own channel order numbers, so a second run finds them


def add_cockpit_demo(*, stdout=None, history_per_day: int = 3, seed: int = 15) -> int:
    """Add the cockpit's demo orders to every active account; returns how many were added (0 when
    they exist already). The daily figures are counted at the end."""
    if Order.objects.filter(channel_order_id__startswith=PREFIX).exists():
        _say(stdout, "Cockpit demo data exists already.")
        return 0
    rng = random.Random(seed)
    added = 0
    now = timezone.now()
    with transaction.atomic():
        for account in ChannelAccount.objects.filter(is_active=True):
            added += _history(account, rng, now, per_day=history_per_day)
            added += _deadlines(account, now)
            added += _drift(account, rng, now)
    rows = stats_refresh(days=HISTORY_DAYS)
    _say(stdout, f"Cockpit demo: {added} orders (history, deadlines, drift); {rows} daily figures counted.")
    return added


def _say(stdout, text: str) -> None:
    if stdout is not None:
        stdout.write(text)


_serial = iter(range(1, 10**9))


def _order(account: ChannelAccount, status: str, *, sale: dt.datetime, ship_by_days: float = 2, **fields) -> Order:
    """An order as the channel last sent it when it was sold, acknowledged (if it is) minutes later:
    every later time of the demo (shipment, the channel's last change) comes after these."""
    order = create_order(account=account, status=status, n_items=1, sale_date=sale,
                         ship_by_date=sale + dt.timedelta(days=ship_by_days), channel_updated_at=sale,
                         channel_order_id=f"{PREFIX}{next(_serial):06d}", **fields)
    if order.acknowledged_at:  # the factory acknowledges now, which for a sale of weeks ago is after it shipped
        order.acknowledged_at = sale + dt.timedelta(minutes=5)
        Order.objects.filter(pk=order.pk).update(acknowledged_at=order.acknowledged_at)
    return order


def _ship(order: Order, *, after: dt.timedelta, failed: bool = False) -> None:
    """Shipped `after` the sale (not later than now); unless the channel refused it, the channel's
    last change is its confirmation a few seconds later."""
    shipped_at = min(order.sale_date + after, timezone.now())
    shipment = ShipmentFactory(order=order, shipped_at=shipped_at, tracking_number=f"1Z999AA1{order.pk:010d}",
                               sync_state=SyncState.ERROR if failed else SyncState.OK)
    action = ChannelActionFactory(order=order, shipment=shipment, kind=ChannelAction.Kind.SHIP, description="Ship",
                                  state=ChannelAction.State.FAILED if failed else ChannelAction.State.SUCCEEDED,
                                  last_error="The carrier does not know this tracking number" if failed else "",
                                  attempts=1)
    confirmed_at = None if failed else min(shipped_at + dt.timedelta(seconds=1 + order.pk % 50), timezone.now())
    ChannelAction.objects.filter(pk=action.pk).update(created_at=shipped_at, updated_at=confirmed_at or shipped_at,
                                                      completed_at=confirmed_at)
    if confirmed_at:
        Order.objects.filter(pk=order.pk).update(channel_updated_at=confirmed_at)
    if failed:
        Order.objects.filter(pk=order.pk).update(sync_state=SyncState.ERROR, sync_error=f"Ship: {action.last_error}")
        log = OrderLog.objects.create(order=order, type=OrderLog.Type.ERROR,
                                      message=f"Ship: failed after 1 attempt(s): {action.last_error}.")
        OrderLog.objects.filter(pk=log.pk).update(created_at=shipped_at)


def _history(account: ChannelAccount, rng: random.Random, now: dt.datetime, *, per_day: int) -> int:
    """Shipped orders over 90 days: most on time, some late, a few without tracking, refunded,
    canceled by the seller or at the buyer's request; imported a few minutes after the sale."""
    added = 0
    for days_ago in range(HISTORY_DAYS - 1, 2, -1):
        for _ in range(rng.randint(1, per_day * 2)):
            sale = now - dt.timedelta(days=days_ago, hours=rng.randint(0, 20))
            roll = rng.random()
            if roll < 0.03:
                order = _order(account, OrderStatus.CANCELED, sale=sale)
                OrderItem.objects.filter(order=order).update(buyer_cancel_requested=rng.random() < 0.5)
                Order.objects.filter(pk=order.pk).update(channel_updated_at=sale + dt.timedelta(hours=rng.randint(1, 20)))
            else:
                order = _order(account, OrderStatus.SHIPPED, sale=sale)
                late = roll > 0.94
                _ship(order, after=dt.timedelta(hours=rng.randint(60, 90) if late else rng.randint(4, 40)),
                      failed=0.88 < roll < 0.895)
                if 0.92 < roll < 0.94:
                    Shipment.objects.filter(order=order).update(tracking_number="")
                if rng.random() < 0.03:
                    Order.objects.filter(pk=order.pk).update(refunded_total=min(order.grand_total, Decimal("5.00")))
            Order.objects.filter(pk=order.pk).update(created_at=sale + dt.timedelta(minutes=rng.choice([0, 1, 2, 3, 8, 20])))
            added += 1
    return added


def _deadlines(account: ChannelAccount, now: dt.datetime) -> int:
    """Open work: to acknowledge, to ship today, past ship-by, at risk of the channel's cancellation,
    a buyer's cancellation request."""
    first = OrderStatus.CREATED if account.channel == Channel.WALMART else OrderStatus.UNSHIPPED
    # Two orders whose cancellation comes in about half a day (ship-by risk_days and a little more ago,
    # sold 2 days before): hour by hour back from now to the first such ship-by.
    horizon = now + AUTO_CANCEL_WARNING - dt.timedelta(hours=12)
    ship_by = now
    while any(auto_cancel_deadline(account=account, ship_by=ship_by - dt.timedelta(days=extra)) > horizon
              for extra in (0, 0.2)):
        ship_by -= dt.timedelta(hours=1)
    risk_days = (now - ship_by) / dt.timedelta(days=1)
    specs = [(first, 0.5, {}), (first, 0.2, {}), (OrderStatus.UNSHIPPED, 0.9, {}),
             (OrderStatus.UNSHIPPED, 2.5, {}), (OrderStatus.UNSHIPPED, 3.2, {}),
             (OrderStatus.UNSHIPPED, 2 + risk_days, {}), (first, 2 + risk_days + 0.2, {}),
             (OrderStatus.UNSHIPPED, 0.4, {"buyer_cancel_requested": True})]
    for status, days_ago, fields in specs:
        order = _order(account, status, sale=now - dt.timedelta(days=days_ago), **fields)
        if fields.get("buyer_cancel_requested"):
            OrderItem.objects.filter(order=order).update(buyer_cancel_requested=True,
                                                         buyer_cancel_reason="Ordered by mistake")
    # Ship-by later today: due today.
    sale = now - dt.timedelta(days=1)
    _order(account, OrderStatus.UNSHIPPED, sale=sale,
           ship_by_days=(min(now + dt.timedelta(hours=3), _end_of_today(now)) - sale).total_seconds() / 86400)
    return len(specs) + 1


def _end_of_today(now: dt.datetime) -> dt.datetime:
    return timezone.localtime(now).replace(hour=23, minute=59, second=0, microsecond=0)


def _drift(account: ChannelAccount, rng: random.Random, now: dt.datetime) -> int:
    """Orders the channel sees otherwise, compared by the reconciliation's own code: shipped there
    but not here, canceled there, refunded there (the sandbox does not hold these demo orders, so a
    resync of them is refused; `manage.py` reconciliations against the sandbox find real drift)."""
    run = ReconciliationRun.objects.create(account=account, started_at=now, finished_at=now,
                                           created_from=now - dt.timedelta(days=30))
    changes = [("shipped", OrderStatus.UNSHIPPED), ("canceled", OrderStatus.UNSHIPPED),
               # Amazon's order listing shows no refunds (cockpit.reconciliation): another shipped one there.
               ("refunded", OrderStatus.SHIPPED) if REPORTS_TRACKING_AND_REFUNDS[account.channel]
               else ("shipped", OrderStatus.UNSHIPPED)]
    for change, status in changes:
        order = _order(account, status, sale=now - dt.timedelta(days=rng.randint(3, 9)))
        if status == OrderStatus.SHIPPED:
            _ship(order, after=dt.timedelta(hours=10))
        order = Order.objects.prefetch_related("items", "shipments").get(pk=order.pk)
        tracking = tuple(TrackingInfo(s.carrier, s.shipping_method, s.tracking_number, "", s.shipped_at)
                         for s in order.shipments.all())
        lines = []
        for item in order.items.all():
            line = _line_of(item, tracking)
            if change == "shipped":
                line = replace(line, qty_shipped=item.qty_ordered)
            elif change == "canceled":
                line = replace(line, qty_canceled=item.qty_ordered)
            else:
                line = replace(line, refunded_amount=item.unit_price)
            lines.append(line)
        record = ChannelOrder(
            channel_order_id=order.channel_order_id, customer_order_id=order.customer_order_id, status=order.channel_status,
            is_acknowledged=True, is_paid=True, sale_date=order.sale_date, updated_at=now, ship_by_date=order.ship_by_date,
            buyer_name=order.buyer_name, buyer_email=order.buyer_email, buyer_phone="", shipping_address={},
            shipping_method="Standard", fulfillment="merchant", currency=order.currency, lines=tuple(lines),
            line_states={})
        record_differences(run=run, order=order, differences=order_differences(order=order, channel_order=record))
        run.orders_checked += 1
        run.differences += 1
    run.save()
    return len(changes)


def _line_of(item: OrderItem, tracking: tuple[TrackingInfo, ...]) -> ChannelLine:
    """The channel's line as it would read if it agreed with ours."""
    return ChannelLine(line_id=item.channel_line_id, line_numbers=tuple(item.channel_line_numbers), sku=item.sku,
                       title=item.title, qty_ordered=item.qty_ordered, qty_shipped=item.qty_shipped,
                       qty_canceled=item.qty_canceled, unit_price=item.unit_price, tax=item.tax,
                       shipping_charge=item.shipping_charge, status=item.channel_line_status,
                       refunded_amount=item.refunded_amount, tracking=tracking)
