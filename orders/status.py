"""The one place that decides an order's status (SPEC §4, R-WM-STATUS, R-AZ-STATUS).

Status follows from line quantities plus the few channel facts that quantities
cannot express (Walmart acknowledgement, Amazon payment and its extra values).
"""

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Protocol

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from channels.models import Channel

from .log import Initiator, LogEntry, Type, order_log_write_many
from .models import ChannelAction, Order, OrderItem, OrderStatus, SyncState

AMAZON_UNPAID_STATUSES = frozenset({"Pending", "PendingAvailability"})
AMAZON_KEPT_STATUSES = {
    "Unfulfillable": OrderStatus.UNFULFILLABLE,
    "InvoiceUnconfirmed": OrderStatus.INVOICE_UNCONFIRMED,
}


class LineQuantities(Protocol):
    qty_ordered: int
    qty_shipped: int
    qty_canceled: int


def derive_status(
    *,
    channel: str,
    lines: Iterable[LineQuantities],
    is_acknowledged: bool = False,
    is_paid: bool = True,
    channel_status: str = "",
) -> OrderStatus:
    lines = list(lines)
    to_ship = sum(line.qty_ordered - line.qty_canceled for line in lines)
    shipped = sum(line.qty_shipped for line in lines)

    if lines and to_ship == 0:
        return OrderStatus.CANCELED
    if channel == Channel.AMAZON and (not is_paid or channel_status in AMAZON_UNPAID_STATUSES):
        return OrderStatus.PENDING
    if lines and shipped >= to_ship:
        # Walmart (seed "Walmart order management", R-SHIP-2): part shipped and the rest canceled is
        # still Partially Shipped. Amazon reports Shipped once every unit left is shipped.
        canceled_some = any(line.qty_canceled for line in lines)
        return OrderStatus.PARTIALLY_SHIPPED if channel == Channel.WALMART and canceled_some else OrderStatus.SHIPPED
    if shipped > 0:
        return OrderStatus.PARTIALLY_SHIPPED
    if channel == Channel.AMAZON:
        return AMAZON_KEPT_STATUSES.get(channel_status, OrderStatus.UNSHIPPED)
    return OrderStatus.UNSHIPPED if is_acknowledged else OrderStatus.CREATED


def order_status_of(order: Order, items: Iterable[LineQuantities] | None = None) -> OrderStatus:
    """The status the order should have now, from its items (prefetched ones are used as they are)."""
    return derive_status(
        channel=order.channel,
        lines=order.items.all() if items is None else items,
        is_acknowledged=order.acknowledged_at is not None,
        is_paid=order.is_paid,
        channel_status=order.channel_status,
    )


def order_refresh_status(
    *,
    order: Order,
    initiator: str = Initiator.SYSTEM,
    user: AbstractBaseUser | None = None,
    awaiting_channel: bool = False,
    withdrawn: bool = False,
) -> bool:
    """Bring order.status in line with its items; a change is saved and logged. True if it changed.
    `awaiting_channel`: the change is the effect of an action just queued for the channel;
    `withdrawn`: of a change withdrawn before the channel confirmed it."""
    entries = orders_refresh_status(orders=[order], items_by_order={order.pk: list(order.items.all())},
                                    initiator=initiator, user_id=user.pk if user else None,
                                    awaiting_channel=awaiting_channel, withdrawn=withdrawn)
    order_log_write_many(entries=entries)
    return bool(entries)


def orders_refresh_status(
    *,
    orders: Iterable[Order],
    items_by_order: dict[int, list[LineQuantities]],
    initiator: str = Initiator.SYSTEM,
    user_id: int | None = None,
    save: bool = True,
    awaiting_channel: bool = False,
    withdrawn: bool = False,
) -> list[LogEntry]:
    """Bring each order's status in line with its items (given per order pk). Changes are set on
    the objects and, with `save`, written (one UPDATE per new status); returns the Order Log lines
    that tell them, for the caller to write with its others. `save=False`: orders not written yet.
    `awaiting_channel`: the changes are the effect of actions just queued for the channel — the lines
    say so, since the status shown stays what the channel confirmed until it does (order_status_shown);
    `withdrawn`: the changes undo one withdrawn before the channel confirmed it, so the status the
    channel confirmed never changed."""
    entries, changed = [], defaultdict(list)
    for order in orders:
        new_status = order_status_of(order, items_by_order.get(order.pk, []))
        if new_status == order.status:
            continue
        change = f"from {OrderStatus(order.status).label} to {new_status.label}"
        channel = order.get_channel_display()
        if withdrawn:
            message = (f"Status stays {new_status.label}: {channel} never confirmed the change to "
                       f"{OrderStatus(order.status).label}, now withdrawn.")
        elif awaiting_channel:
            message = f"Status to change {change} once {channel} confirms."
        else:
            message = f"Status changed {change}."
        entries.append(LogEntry(order.pk, message, Type.NOTICE, initiator, user_id))
        order.status = new_status
        changed[new_status].append(order.pk)
    if save:
        for status, pks in changed.items():
            Order.objects.filter(pk__in=pks).update(status=status, updated_at=timezone.now())
    return entries


@dataclass(frozen=True)
class StatusShown:
    """What an operator is told about an order's status: what the channel has confirmed, and what
    is on its way to it (queued or being sent) or failed to get there."""

    confirmed: OrderStatus
    on_its_way: OrderStatus | None = None
    waiting_for: str = ""  # the channel, while an action is open
    error: str = ""  # the failed action and why, until retried

    @property
    def text(self) -> str:
        if self.on_its_way is None:
            return self.confirmed.label
        return f"{self.confirmed.label} → {self.on_its_way.label}, waiting for {self.waiting_for}"

    @property
    def heading_for(self) -> OrderStatus:
        """The status the grid's Status filter finds the order under: where it is heading (the right
        of "→") while a change is on its way, else what the channel confirmed."""
        return self.on_its_way or self.confirmed


@dataclass(frozen=True)
class UnitsUnconfirmed:
    """An item's units whose shipment or cancellation the channel has not confirmed: on their way
    (queued or being sent) or failed to get there."""

    shipped_waiting: int = 0
    shipped_failed: int = 0
    canceled_waiting: int = 0
    canceled_failed: int = 0

    @property
    def shipped(self) -> int:
        return self.shipped_waiting + self.shipped_failed

    @property
    def canceled(self) -> int:
        return self.canceled_waiting + self.canceled_failed

    def __bool__(self) -> bool:
        return bool(self.shipped or self.canceled)


def items_unconfirmed(order: Order, unsettled_actions: Iterable[ChannelAction]) -> dict[int, UnitsUnconfirmed]:
    """Per item pk, the units of its qty_shipped / qty_canceled that the channel has not confirmed
    (items with none are left out). `unsettled_actions`: the order's open or failed actions."""
    counts = {(kind, failed): Counter() for kind in ("shipped", "canceled") for failed in (False, True)}
    for action in unsettled_actions:
        failed = action.state == ChannelAction.State.FAILED
        if action.kind == ChannelAction.Kind.SHIP and not action.payload.get("is_update"):
            counts["shipped", failed].update(_units_by_line(action.payload))
        elif action.kind == ChannelAction.Kind.CANCEL:
            counts["canceled", failed].update(_units_by_line(action.payload))
    unconfirmed = {}
    for item in order.items.all():
        numbers = [str(number) for number in (item.channel_line_numbers or [item.channel_line_id])]

        def units(kind: str, failed: bool, most: int) -> int:
            return min(most, sum(counts[kind, failed][n] for n in numbers))

        shipped_failed = units("shipped", True, item.qty_shipped)
        canceled_failed = units("canceled", True, item.qty_canceled)
        units_of_item = UnitsUnconfirmed(
            shipped_waiting=units("shipped", False, item.qty_shipped - shipped_failed), shipped_failed=shipped_failed,
            canceled_waiting=units("canceled", False, item.qty_canceled - canceled_failed),
            canceled_failed=canceled_failed)
        if units_of_item:
            unconfirmed[item.pk] = units_of_item
    return unconfirmed


def refunded_units_unconfirmed(order: Order, unsettled_actions: Iterable[ChannelAction]) -> dict[int, tuple[int, int]]:
    """Per item pk, (waiting, failed): the units of its qty_refunded whose refund the channel has not
    confirmed (a memo counts its units at once; the channel pays them when it confirms)."""
    counts = {failed: Counter() for failed in (False, True)}
    for action in unsettled_actions:
        if action.kind == ChannelAction.Kind.REFUND:
            counts[action.state == ChannelAction.State.FAILED].update(_units_by_line(action.payload))
    unconfirmed = {}
    for item in order.items.all():
        numbers = [str(number) for number in (item.channel_line_numbers or [item.channel_line_id])]
        failed = min(item.qty_refunded, sum(counts[True][n] for n in numbers))
        waiting = min(item.qty_refunded - failed, sum(counts[False][n] for n in numbers))
        if waiting or failed:
            unconfirmed[item.pk] = (waiting, failed)
    return unconfirmed


def order_status_shown(order: Order, unsettled_actions: Iterable[ChannelAction]) -> StatusShown:
    """The order's status as the channel confirmed it: its status without the effect of the actions
    the channel has not confirmed (open or failed). `unsettled_actions` are those actions."""
    unsettled = list(unsettled_actions)
    if not unsettled:
        return StatusShown(confirmed=OrderStatus(order.status))
    unconfirmed = items_unconfirmed(order, unsettled)
    none = UnitsUnconfirmed()
    lines = [SimpleNamespace(qty_ordered=item.qty_ordered,
                             qty_shipped=item.qty_shipped - unconfirmed.get(item.pk, none).shipped,
                             qty_canceled=item.qty_canceled - unconfirmed.get(item.pk, none).canceled)
             for item in order.items.all()]
    acknowledge_unconfirmed = any(action.kind == ChannelAction.Kind.ACKNOWLEDGE for action in unsettled)
    confirmed = derive_status(
        channel=order.channel,
        lines=lines,
        is_acknowledged=order.acknowledged_at is not None and not acknowledge_unconfirmed,
        is_paid=order.is_paid,
        channel_status=order.channel_status,
    )
    failed = [action for action in unsettled if action.state == ChannelAction.State.FAILED]
    error = "; ".join(f"{action.description}: {action.last_error}" for action in failed)
    if len(failed) < len(unsettled) and confirmed != order.status:
        return StatusShown(confirmed=confirmed, on_its_way=OrderStatus(order.status),
                           waiting_for=order.get_channel_display(), error=error)
    return StatusShown(confirmed=confirmed, error=error)


@dataclass(frozen=True)
class CancelRequest:
    """A buyer's cancellation request still waiting for the seller. `lines`: the lines asked for, where
    the request is per line (Walmart's intentToCancel); empty where it is the whole order's (Amazon)."""

    lines: tuple[OrderItem, ...] = ()


def cancel_request_waiting(order: Order, shown: StatusShown) -> CancelRequest | None:
    """The order's waiting cancellation request, if any, as the grid shows it (one badge, in Status):
    Amazon's while the order is Unshipped as the channel confirmed it; Walmart's on the lines the
    channel still has open (neither shipped nor canceled as it confirmed, so a cancellation of ours on
    its way leaves the request shown until Walmart takes it, as on Amazon). Reads the prefetched items
    and order.unsettled_actions: no query."""
    if order.channel == Channel.AMAZON:
        waiting = order.buyer_cancel_requested and shown.confirmed == OrderStatus.UNSHIPPED
        return CancelRequest() if waiting else None
    if not order.buyer_cancel_requested:
        return None
    unconfirmed = items_unconfirmed(order, order.unsettled_actions)

    def open_on_the_channel(item: OrderItem) -> int:
        units = unconfirmed.get(item.pk, UnitsUnconfirmed())
        return item.qty_open + units.shipped + units.canceled

    lines = tuple(item for item in order.items.all() if item.buyer_cancel_requested and open_on_the_channel(item))
    return CancelRequest(lines) if lines else None


def _units_by_line(payload: dict) -> Counter:
    return Counter({str(line["line_number"]): int(line["qty"]) for line in payload.get("lines", [])})


def unsettled_actions_prefetch() -> Prefetch:
    """The actions the channel has not confirmed (open or failed), as order.unsettled_actions, for
    order_status_shown."""
    return Prefetch(
        "channel_actions",
        queryset=ChannelAction.objects.filter(state__in=ChannelAction.BLOCKING_STATES)
        .only("order_id", "kind", "state", "payload", "description", "last_error", "attempts", "max_attempts")
        .order_by("pk"),
        to_attr="unsettled_actions",
    )


def orders_shown_with_status(orders: QuerySet[Order], status: str) -> QuerySet[Order]:
    """The orders whose status the grid shows as `status` (StatusShown.heading_for). Order.status
    already is that for every order but those with a failed action (its effect is in Order.status,
    not on the channel); these few, waiting for an operator, are worked out one by one."""
    failed = (Order.objects.filter(sync_state=SyncState.ERROR, channel_actions__state=ChannelAction.State.FAILED)
              .distinct().only("channel", "status", "acknowledged_at", "is_paid", "channel_status")
              .prefetch_related(Prefetch("items", queryset=OrderItem.objects.only(
                  "order_id", "qty_ordered", "qty_shipped", "qty_canceled", "channel_line_id", "channel_line_numbers")),
                  unsettled_actions_prefetch()))
    shown_so = [order.pk for order in failed if order_status_shown(order, order.unsettled_actions).heading_for == status]
    return orders.filter((Q(status=status) & ~Q(pk__in=failed.values("pk"))) | Q(pk__in=shown_so))
