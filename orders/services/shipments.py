"""Shipments (R-SHIP-1..3): recorded locally with their tracking, sent to the channel by the outbox;
corrected, or withdrawn while the channel has not accepted them, by a new logged change."""

from collections import defaultdict

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from channels.capabilities import rules_for

from ..locks import lock_order
from ..log import Type, order_log_write
from ..models import ChannelAction, Order, OrderItem, OrderStatus, Shipment, ShipmentItem, SyncState
from ..outbox import enqueue_action, order_refresh_sync_state
from ..status import order_refresh_status
from .acknowledge import order_acknowledge
from .channel_lines import lines_to_ship, shipped_lines
from .channel_shipments import package_key
from .errors import OrderActionRefused
from .stock import consume_for_shipment, return_unshipped, stock_moves
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
            Shipment.objects.filter(Shipment.STANDING, order=order, source=Shipment.Source.OPERATOR)
            .order_by("-shipped_at", "-pk").first()
        )
        if shipment is None:
            raise OrderActionRefused("no shipment to resend")
        actions = _ship_actions(order=order, shipment=shipment)
        if not _accepted(actions):
            # An update of a package the channel never took would wait behind the refused send for ever.
            raise OrderActionRefused(
                f"{order.get_channel_display()} has not accepted shipment #{shipment.pk} yet",
                "retry its failed send with Retry Failed Sync, correct its tracking, or withdraw it")
        _resend(order=order, shipment=shipment, actions=actions, channel_has=shipment.tracking_number, user=user)
    return shipment


# What each channel takes when a shipment's tracking is corrected after it was sent. Walmart: the
# shipping call again with processMode PARTIAL_UPDATE, naming the package by the tracking number it
# has now (currentTrackingInfo). Amazon: confirmShipment again with the same packageReferenceId edits
# that package; it has no tracking URL field.
CORRECTION_LIMITS = {
    "walmart": "",
    "amazon": "Amazon takes no tracking URL: a changed URL is kept here only.",
}


def shipment_correct(*, shipment_id: int, tracking: Tracking, user: AbstractBaseUser | None = None) -> Shipment:
    """Correct a shipment's carrier, shipping method, tracking # or URL: checked like a new one, logged
    with the values before and after, and sent to the channel for shipments sent from here. One the
    channel has not accepted (queued, or refused) is sent again as a shipment, its earlier send
    withdrawn; one it accepted is sent as a tracking update of that package only."""
    with transaction.atomic():
        order = lock_order(Shipment.objects.values_list("order_id", flat=True).get(pk=shipment_id))
        shipment = Shipment.objects.select_for_update().get(pk=shipment_id)
        if shipment.withdrawn_at:
            raise OrderActionRefused(f"shipment #{shipment.pk} is withdrawn", "ship its units again from the ship form")
        tracking = validate_tracking(channel=order.channel, tracking=tracking)
        fields = {"carrier": tracking.carrier, "shipping_method": tracking.method,
                  "tracking_number": tracking.tracking_number, "tracking_url": tracking.tracking_url}
        changes = [f"{name.replace('_', ' ')} {getattr(shipment, name) or '(none)'} → {value or '(none)'}"
                   for name, value in fields.items() if getattr(shipment, name) != value]
        if not changes:
            raise OrderActionRefused("nothing to correct", "the carrier, method, tracking # and URL are unchanged")
        sent_here = shipment.source == Shipment.Source.OPERATOR
        actions = _ship_actions(order=order, shipment=shipment) if sent_here else []
        accepted = _accepted(actions)
        if sent_here and accepted:
            _refuse_one_of_a_package(order=order, shipment=shipment)
        channel_has = shipment.tracking_number
        Shipment.objects.filter(pk=shipment.pk).update(**fields)
        shipment.refresh_from_db()
        order_log_write(order=order, user=user, type=Type.SUCCESS,
                        message=f"Shipment #{shipment.pk} corrected: {'; '.join(changes)}.")
        if not sent_here:
            order_log_write(order=order, user=user, type=Type.WARNING,
                            message=f"Shipment #{shipment.pk} was reported by {order.get_channel_display()}: the "
                            "correction is kept here only; correct it on the channel too.")
            return shipment
        # What is still queued, or was refused, for this shipment is replaced by the correction.
        _withdraw_actions(order=order, actions=actions, why="and replaced by the correction", user=user)
        if accepted:
            _resend(order=order, shipment=shipment, actions=actions, channel_has=channel_has, user=user)
        else:
            first = actions[0].payload
            Shipment.objects.filter(pk=shipment.pk).update(sync_state=SyncState.PENDING)
            _enqueue_ship(order=order, shipment=shipment, lines=first["lines"], user=user,
                          override_cancel_request=first.get("override_cancel_request", False))
    return shipment


def shipment_withdraw(*, shipment_id: int, user: AbstractBaseUser | None = None) -> Shipment:
    """Withdraw a shipment the channel never accepted (its ship queued, or refused for good): its
    units are open again — to ship or cancel — with their stock back on the shelf, its channel
    actions are closed unsent, and the Order Log says so. The shipment row stays, marked withdrawn.
    Refused while the channel has it or may have it: accepted, being sent, or sent without an answer."""
    with transaction.atomic(), stock_moves():  # stock written last, products in pk order (orders.locks)
        order = lock_order(Shipment.objects.values_list("order_id", flat=True).get(pk=shipment_id))
        items = {item.pk: item for item in order.items.select_for_update().order_by("pk")}
        shipment = Shipment.objects.select_for_update().get(pk=shipment_id)
        channel = order.get_channel_display()
        if shipment.withdrawn_at:
            raise OrderActionRefused(f"shipment #{shipment.pk} is withdrawn already")
        if shipment.source != Shipment.Source.OPERATOR:
            raise OrderActionRefused(f"{channel} reported shipment #{shipment.pk}",
                                     "it was shipped there and cannot be withdrawn here")
        actions = _ship_actions(order=order, shipment=shipment)
        if _accepted(actions):
            raise OrderActionRefused(f"{channel} accepted shipment #{shipment.pk}, so it cannot be withdrawn",
                                     "if its tracking is wrong, correct the shipment instead")
        summary, returned = [], []
        for row in shipment.items.order_by("pk"):
            item = items[row.order_item_id]
            qty = min(row.qty, item.qty_shipped)
            item.qty_shipped -= qty
            return_unshipped(item=item, qty=qty, store_order=order.has_store_order)
            returned.append(item)
            summary.append(f"{item.sku} × {qty}")
        OrderItem.objects.bulk_update(returned, ["qty_shipped", "qty_reserved"])
        _withdraw_actions(order=order, actions=actions, why="along with its shipment", user=user)
        Shipment.objects.filter(pk=shipment.pk).update(withdrawn_at=timezone.now())
        shelf = " Their stock is back on the shelf." if any(item.product_id for item in returned) else ""
        order_log_write(order=order, user=user, type=Type.WARNING,
                        message=f"Shipment #{shipment.pk} ({shipment.carrier} {shipment.tracking_number}) withdrawn: "
                        f"{channel} never accepted it; {', '.join(summary)} back to ship.{shelf}")
        order_refresh_sync_state(order=order)
        order_refresh_status(order=order, user=user, withdrawn=True)
        shipment.refresh_from_db()
    return shipment


def withdrawable_shipments(*, order: Order) -> set[int]:
    """The order's shipments an operator may withdraw now (the order page offers it on these)."""
    ship_actions = defaultdict(list)
    for action in ChannelAction.objects.filter(order=order, kind=ChannelAction.Kind.SHIP, shipment__isnull=False):
        ship_actions[action.shipment_id].append(action)
    return {shipment.pk for shipment in order.shipments.all()
            if shipment.source == Shipment.Source.OPERATOR and not shipment.withdrawn_at
            and ship_actions[shipment.pk] and not _accepted(ship_actions[shipment.pk])
            and not any(_on_its_way(action) for action in ship_actions[shipment.pk])}


def _ship_actions(*, order: Order, shipment: Shipment) -> list[ChannelAction]:
    """The shipment's ship actions, locked, oldest first. Refused while one is on its way to the
    channel, or may have reached it: nothing can then be withdrawn or replaced safely (a worker's
    claim is only taken from a pending action, under the same row lock: one withdrawn is never sent)."""
    actions = list(ChannelAction.objects.select_for_update().filter(shipment=shipment, kind=ChannelAction.Kind.SHIP)
                   .order_by("pk"))
    for action in actions:
        refusal = _on_its_way(action)
        if refusal:
            raise OrderActionRefused(refusal.format(shipment=shipment.pk, channel=order.get_channel_display()),
                                     "try again once it has an answer" if action.state != ChannelAction.State.FAILED
                                     else "check the order on the channel; Retry Failed Sync checks it before "
                                     "sending anything again")
    return actions


def _on_its_way(action: ChannelAction) -> str:
    """Why the action may be on the channel without our knowing yet ("" when it cannot be)."""
    if action.state == ChannelAction.State.IN_FLIGHT:
        return "shipment #{shipment} is being sent to {channel} right now"
    if action.state == ChannelAction.State.SUBMITTED:
        return "{channel} is still processing shipment #{shipment}"
    if action.needs_verification and action.state in (ChannelAction.State.PENDING, ChannelAction.State.FAILED):
        return "an earlier attempt to send shipment #{shipment} may have reached {channel}"
    return ""


def _accepted(actions: list[ChannelAction]) -> bool:
    """Whether the channel took the shipment: a send of it succeeded. A shipment with no ship action
    left was accepted long ago (the history archive keeps only succeeded actions)."""
    return not actions or any(action.state == ChannelAction.State.SUCCEEDED for action in actions)


def _withdraw_actions(*, order: Order, actions: list[ChannelAction], why: str, user) -> None:
    """Close the actions the channel has not taken (queued, or refused): never sent, never claimed."""
    unsent = [action for action in actions
              if action.state in (ChannelAction.State.PENDING, ChannelAction.State.FAILED)]
    if not unsent:
        return
    now = timezone.now()
    ChannelAction.objects.filter(pk__in=[action.pk for action in unsent]).update(
        state=ChannelAction.State.WITHDRAWN, claim_token=None, lease_expires_at=None, completed_at=now, updated_at=now)
    for action in unsent:
        order_log_write(order=order, user=user, message=f"{action.description}: withdrawn {why}; not sent to "
                        f"{order.get_channel_display()}.")


def _refuse_one_of_a_package(*, order: Order, shipment: Shipment) -> None:
    """On a channel that names a shipped package by its tracking number, another shipment of the
    same line under the same tracking number is the same package there: a correction of one would
    change both. Refused before anything is sent."""
    if not rules_for(order.channel).packages_named_by_tracking:
        return
    key = package_key(tracking_number=shipment.tracking_number, carrier="")
    single_line = [row.order_item_id for row in shipment.items.select_related("order_item")
                   if len(row.order_item.channel_line_numbers or [row.order_item.channel_line_id]) == 1]
    for other in (Shipment.objects.filter(Shipment.STANDING, order=order, items__order_item_id__in=single_line)
                  .exclude(pk=shipment.pk).distinct().order_by("pk")):
        if package_key(tracking_number=other.tracking_number, carrier="") == key:
            raise OrderActionRefused(
                f"{order.get_channel_display()} keeps shipment #{shipment.pk} and shipment #{other.pk} as one "
                f"package of the same line (tracking # {shipment.tracking_number})",
                f"it cannot change the tracking of one of them alone; correct it on {order.get_channel_display()} "
                "itself")


def _resend(*, order: Order, shipment: Shipment, actions: list[ChannelAction], channel_has: str, user) -> None:
    """A tracking update of the package as the channel accepted it, on the lines it went out on.
    `channel_has`: its tracking number on the channel unless a send of it is confirmed later (the
    outbox names the package by its last confirmed tracking number, read when the update is sent)."""
    if actions:
        lines = actions[0].payload["lines"]
    else:  # sent long ago, its actions archived: the lines of its units
        lines = [line for row in shipment.items.select_related("order_item")
                 for line in shipped_lines(item=row.order_item, qty=row.qty)]
    Shipment.objects.filter(pk=shipment.pk).update(sync_state=SyncState.PENDING)
    _enqueue_ship(order=order, shipment=shipment, lines=lines, user=user, is_update=True, channel_has=channel_has)


def _enqueue_ship(*, order: Order, shipment: Shipment, lines: list[dict], user, is_update: bool = False,
                  override_cancel_request: bool = False, channel_has: str = "") -> None:
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
            "current_tracking_number": channel_has,  # Walmart names the package to update by it
            "override_cancel_request": override_cancel_request,
            "package_reference": str(shipment.pk),  # Amazon edits a package confirmed again under its id
        },
    )
