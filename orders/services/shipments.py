"""Shipments (R-SHIP-1..3): recorded locally with their tracking, sent to the channel by the outbox."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from channels.capabilities import rules_for

from ..locks import lock_order
from ..log import Type, order_log_write
from ..models import ChannelAction, Order, OrderItem, OrderStatus, Shipment, ShipmentItem, SyncState
from ..outbox import enqueue_action
from ..status import order_refresh_status
from .acknowledge import order_acknowledge
from .channel_lines import lines_to_ship, shipped_lines
from .errors import OrderActionRefused
from .stock import consume_for_shipment, stock_moves
from .tracking import Tracking, validate_tracking



def order_ship(
    *,
    order_id: int,
    tracking: Tracking,
    quantities: dict[int, int] | None = None,
    user: AbstractBaseUser | None = None,
    despite_cancel_request: bool = False,
) -> Shipment:
    """Ship some or all open units (`quantities`: item id → units; None ships everything open). An
    order whose buyer asked to cancel ships only when the operator says so (`despite_cancel_request`):
    the channel is then told the request is overridden, and the Order Log says it."""
    with transaction.atomic(), stock_moves():  # stock written last, products in pk order (orders.locks)
        order = lock_order(order_id)
        tracking = validate_tracking(channel=order.channel, tracking=tracking)
        if order.status == OrderStatus.CANCELED:
            raise OrderActionRefused("order is canceled")
        if order.status == OrderStatus.PENDING:
            raise OrderActionRefused("Amazon order is Pending (not paid)")
        if order.buyer_cancel_requested and not despite_cancel_request:
            raise OrderActionRefused("the buyer asked to cancel this order",
                                     "cancel it as asked, or confirm shipping it anyway")
        items = list(order.items.select_for_update().order_by("pk"))
        wanted = {item.pk: item.qty_open for item in items} if quantities is None else dict(quantities)
        unknown = set(wanted) - {item.pk for item in items}
        if unknown:
            raise OrderActionRefused("item does not belong to the order", ", ".join(map(str, sorted(unknown))))
        for item in items:
            if wanted.get(item.pk, 0) > item.qty_open:
                raise OrderActionRefused("cannot ship more than the open quantity",
                                         f"{item.sku}: {wanted[item.pk]} asked, {item.qty_open} open")
        if not any(qty > 0 for qty in wanted.values()):
            raise OrderActionRefused("nothing left to ship")

        if rules_for(order.channel).acknowledges_orders and not order.acknowledged_at:
            order_acknowledge(order_id=order.pk, user=user)  # Walmart: acknowledge before ship
            order.refresh_from_db()

        shipment = Shipment.objects.create(
            order=order,
            carrier=tracking.carrier,
            shipping_method=tracking.method,
            tracking_number=tracking.tracking_number,
            tracking_url=tracking.tracking_url,
            shipped_at=tracking.shipped_at or timezone.now(),
            sync_state=SyncState.PENDING,
        )
        lines, shipped_items, summary = [], [], []
        for item in items:
            qty = wanted.get(item.pk, 0)
            if qty <= 0:
                continue
            lines += lines_to_ship(item=item, qty=qty)
            ShipmentItem.objects.create(shipment=shipment, order_item=item, qty=qty)
            item.qty_shipped += qty
            consume_for_shipment(item=item, qty=qty)
            shipped_items.append(item)
            summary.append(f"{item.sku} × {qty}")
        OrderItem.objects.bulk_update(shipped_items, ["qty_shipped", "qty_reserved"])
        overridden = " The buyer's cancellation request is overridden." if order.buyer_cancel_requested else ""
        order_log_write(
            order=order,
            message=f"Shipment created: {', '.join(summary)} via {tracking.carrier} {tracking.tracking_number}."
            f"{overridden}",
            type=Type.SUCCESS,
            user=user,
        )
        # The operator's word, not the flag alone: a buyer's request can reach the channel after the
        # operator decided to ship anyway and before our import brings it in (the ship would bounce).
        _enqueue_ship(order=order, shipment=shipment, lines=lines, user=user,
                      override_cancel_request=despite_cancel_request)
        order_refresh_status(order=order, user=user, awaiting_channel=True)
    return shipment


def order_resend_shipping(*, order_id: int, user: AbstractBaseUser | None = None) -> Shipment:
    """R-SHIP-3: send the latest shipment's tracking again (an update for lines already shipped)."""
    with transaction.atomic():
        order = lock_order(order_id)
        shipment = (
            Shipment.objects.filter(order=order, source=Shipment.Source.OPERATOR).order_by("-shipped_at", "-pk").first()
        )
        if shipment is None:
            raise OrderActionRefused("no shipment to resend")
        _resend(order=order, shipment=shipment, user=user)
    return shipment


# What each channel takes when a shipment's tracking is corrected after it was sent. Walmart: the
# shipping call again with processMode PARTIAL_UPDATE. Amazon: confirmShipment again with the same
# packageReferenceId edits that package; it has no tracking URL field.
CORRECTION_LIMITS = {
    "walmart": "",
    "amazon": "Amazon takes no tracking URL: a changed URL is kept here only.",
}


def shipment_correct(*, shipment_id: int, tracking: Tracking, user: AbstractBaseUser | None = None) -> Shipment:
    """Correct a shipment's carrier, tracking # or URL: checked like a new one, logged with the
    values before and after, and resent to the channel for shipments sent from here."""
    with transaction.atomic():
        order = lock_order(Shipment.objects.values_list("order_id", flat=True).get(pk=shipment_id))
        shipment = Shipment.objects.select_for_update().get(pk=shipment_id)
        tracking = validate_tracking(channel=order.channel, tracking=tracking)
        fields = {"carrier": tracking.carrier, "tracking_number": tracking.tracking_number,
                  "tracking_url": tracking.tracking_url}
        changes = [f"{name.replace('_', ' ')} {getattr(shipment, name) or '(none)'} → {value or '(none)'}"
                   for name, value in fields.items() if getattr(shipment, name) != value]
        if not changes:
            raise OrderActionRefused("nothing to correct", "the carrier, tracking # and URL are unchanged")
        Shipment.objects.filter(pk=shipment.pk).update(**fields)
        shipment.refresh_from_db()
        order_log_write(order=order, user=user, type=Type.SUCCESS,
                        message=f"Shipment #{shipment.pk} corrected: {'; '.join(changes)}.")
        if shipment.source == Shipment.Source.OPERATOR:
            _resend(order=order, shipment=shipment, user=user)
        else:
            order_log_write(order=order, user=user, type=Type.WARNING,
                            message=f"Shipment #{shipment.pk} was reported by {order.get_channel_display()}: the "
                            "correction is kept here only; correct it on the channel too.")
    return shipment


def _resend(*, order: Order, shipment: Shipment, user) -> None:
    lines = []
    for line in shipment.items.select_related("order_item"):
        lines += shipped_lines(item=line.order_item, qty=line.qty)
    Shipment.objects.filter(pk=shipment.pk).update(sync_state=SyncState.PENDING)
    _enqueue_ship(order=order, shipment=shipment, lines=lines, user=user, is_update=True)


def _enqueue_ship(*, order: Order, shipment: Shipment, lines: list[dict], user, is_update: bool = False,
                  override_cancel_request: bool = False) -> None:
    enqueue_action(
        order=order,
        kind=ChannelAction.Kind.SHIP,
        description=f"{'Resend shipping information' if is_update else 'Ship'} ({shipment.carrier} "
        f"{shipment.tracking_number})",
        shipment=shipment,
        user=user,
        payload={
            "lines": lines,
            "carrier": shipment.carrier,
            "method": shipment.shipping_method,
            "tracking_number": shipment.tracking_number,
            "tracking_url": shipment.tracking_url,
            "shipped_at": shipment.shipped_at.isoformat(),
            "seller_order_id": order.store_order_number or "",
            "is_update": is_update,
            "override_cancel_request": override_cancel_request,
            "package_reference": str(shipment.pk),  # Amazon edits a package confirmed again under its id
        },
    )
