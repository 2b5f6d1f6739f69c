"""Reads of orders: the grid, the detail page and the CSV export share these."""

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, Upper

from channels.models import Channel, ChannelAccount
from channels.selectors import SyncHealth, account_sync_health

from .filters import OrderFilterSet
from .models import ChannelAction, ImportProblem, Order, OrderItem, OrderLog, OrderLogArchive, Shipment
from .status import UnitsUnconfirmed, items_unconfirmed, refunded_units_unconfirmed, unsettled_actions_prefetch


def order_grid_queryset() -> QuerySet[Order]:
    """Orders with what every grid row shows, in a fixed number of queries per page."""
    return Order.objects.select_related("account", "marketplace").prefetch_related(
        Prefetch("items", queryset=OrderItem.objects.select_related("product").order_by("pk")),
        unsettled_actions_prefetch(),
    )


def order_list(*, filters: Mapping | None = None, queryset: QuerySet[Order] | None = None) -> QuerySet[Order]:
    """Orders matching the grid filters (invalid filter values are ignored, as on the grid)."""
    base = order_grid_queryset() if queryset is None else queryset
    return OrderFilterSet(data=filters or None, queryset=base).qs


def order_detail(*, order_id: int) -> Order:
    return (
        Order.objects.select_related("account", "marketplace", "invoice")
        .prefetch_related(
            Prefetch("items", queryset=OrderItem.objects.select_related("product").order_by("pk")),
            Prefetch(
                "shipments",
                queryset=Shipment.objects.prefetch_related("items__order_item").order_by("shipped_at", "pk"),
            ),
            Prefetch("logs", queryset=OrderLog.objects.select_related("user").order_by("-created_at", "-pk")),
            Prefetch("archived_logs", queryset=OrderLogArchive.objects.select_related("user")),
            "credit_memos__items__order_item",
            "returns__lines__order_item",
            unsettled_actions_prefetch(),
        )
        .get(pk=order_id)
    )


CENT = Decimal("0.01")


@dataclass(frozen=True)
class OrderTotals:
    """The detail page's Totals: the order as the buyer placed it (its grand total), the money of the
    units canceled before they were charged, the money refunded after, and what is left — each as the
    channel confirmed it, with what is on its way to it (or failed to get there) beside it."""

    grand_total: Decimal
    canceled_units: int
    canceled_price: Decimal
    canceled_tax: Decimal
    canceled_shipping: Decimal
    refunded_units: int
    refunded: Decimal
    canceled_unconfirmed_units: int = 0
    canceled_unconfirmed: Decimal = Decimal("0")
    refunded_unconfirmed: Decimal = Decimal("0")  # on its way to the channel
    refunded_failed: Decimal = Decimal("0")  # the channel refused it, or it could not be sent

    @property
    def canceled(self) -> Decimal:
        return self.canceled_price + self.canceled_tax + self.canceled_shipping

    @property
    def after_cancellations_and_refunds(self) -> Decimal:
        return self.grand_total - self.canceled - self.refunded


def order_totals(order: Order) -> OrderTotals:
    """From the order's (prefetched) items and unsettled actions: canceled units at their price, with
    their share of the line's tax and shipping (what a cancellation credits on the channel); refunds
    as recorded. A cancellation or refund the channel has not confirmed is not counted as done."""
    items = list(order.items.all())
    unconfirmed = items_unconfirmed(order, order.unsettled_actions)

    def canceled(item: OrderItem) -> int:
        return item.qty_canceled - unconfirmed.get(item.pk, UnitsUnconfirmed()).canceled

    def money(item: OrderItem, units: int) -> Decimal:
        return item.unit_price * units + ((item.tax + item.shipping_charge) * units / item.qty_ordered).quantize(CENT)

    def share(amount: Decimal, item: OrderItem) -> Decimal:
        return (amount * canceled(item) / item.qty_ordered).quantize(CENT)

    def refunds(*, failed: bool) -> Decimal:
        return sum((Decimal(line["amount"]) + Decimal(line.get("tax", "0")) + Decimal(line.get("shipping", "0"))
                    for action in order.unsettled_actions if action.kind == ChannelAction.Kind.REFUND
                    and (action.state == ChannelAction.State.FAILED) == failed
                    for line in action.payload.get("lines", [])), Decimal("0"))

    refunds_unconfirmed, refunds_failed = refunds(failed=False), refunds(failed=True)
    return OrderTotals(
        grand_total=order.grand_total,
        canceled_units=sum(canceled(item) for item in items),
        canceled_price=sum((item.unit_price * canceled(item) for item in items), Decimal("0")),
        canceled_tax=sum((share(item.tax, item) for item in items), Decimal("0")),
        canceled_shipping=sum((share(item.shipping_charge, item) for item in items), Decimal("0")),
        refunded_units=sum(item.qty_refunded for item in items) - sum(
            waiting + failed for waiting, failed in refunded_units_unconfirmed(order, order.unsettled_actions).values()),
        refunded=order.refunded_total - refunds_unconfirmed - refunds_failed,
        canceled_unconfirmed_units=sum(units.canceled for units in unconfirmed.values()),
        canceled_unconfirmed=sum((money(item, unconfirmed[item.pk].canceled) for item in items if item.pk in unconfirmed),
                                 Decimal("0")),
        refunded_unconfirmed=refunds_unconfirmed,
        refunded_failed=refunds_failed,
    )


def channel_status_predates_confirmed_changes(order: Order) -> bool:
    """The channel status we hold was read before a change the channel has confirmed since (ours): the
    next import reads the new one; until then the page must not show the old one as the channel's word
    of now (an order Shipped here read "on Amazon: Unshipped")."""
    confirmed = order.channel_actions.filter(state=ChannelAction.State.SUCCEEDED)
    if order.channel_read_at is not None:
        confirmed = confirmed.filter(completed_at__gt=order.channel_read_at)
    return confirmed.exists()


def order_history(order: Order) -> list[OrderLog | OrderLogArchive]:
    """The order's whole Order Log, newest first: its lines and those archived (retention)."""
    return sorted([*order.logs.all(), *order.archived_logs.all()], key=lambda line: line.created_at, reverse=True)


def usual_carrier(*, account_id: int) -> str:
    """The carrier of the account's latest shipment made here: the ship forms' default."""
    latest = (Shipment.objects.filter(order__account_id=account_id, source=Shipment.Source.OPERATOR)
              .order_by("-pk").values_list("carrier", flat=True).first())
    return latest or ""


def ship_form_kwargs(*, orders: QuerySet[Order]) -> dict:
    """What the ship form needs to know of the orders it ships: their channels (for the carrier
    list and the tracking check), the usual carrier of a single account, and how many there are."""
    pairs = set(orders.order_by().values_list("channel", "account_id").distinct())
    accounts = {account_id for _, account_id in pairs}
    return {
        "channels": tuple(sorted({channel for channel, _ in pairs})),
        "usual_carrier": usual_carrier(account_id=accounts.pop()) if len(accounts) == 1 else "",
        "order_count": orders.count(),
        "cancel_requests": orders.filter(buyer_cancel_requested=True).count(),
    }


def cancel_form_kwargs(*, orders: QuerySet[Order]) -> dict:
    """The cancel form shows the reason each channel among the orders is sent, and how many of them
    the buyer asked to cancel (their reason is then the buyer's, not one that counts against the seller)."""
    present = set(orders.order_by().values_list("channel", flat=True).distinct())
    return {"channels": tuple(channel for channel in Channel.values if channel in present),
            "order_count": orders.count(), "cancel_requests": orders.filter(buyer_cancel_requested=True).count()}


def shipments_matching(shipments: QuerySet[Shipment], term: str) -> QuerySet[Shipment]:
    """Shipments whose tracking # (any case) or whose order's channel order # is `term`. The orders are
    looked up first: an OR across the join to orders would read every shipment; this way each side
    is one index lookup."""
    term = term.strip()
    if not term:
        return shipments
    order_ids = list(Order.objects.filter(channel_order_id=term).values_list("pk", flat=True))
    return shipments.filter(Q(tracking_number__iexact=term) | Q(order_id__in=order_ids))


def accounts_with_sync_counts(accounts: QuerySet[ChannelAccount]) -> QuerySet[ChannelAccount]:
    """Accounts with their sync health counts: `waiting`, `retrying` (of those waiting, the ones the
    channel refused so far) and `failed` channel actions, `open_problems` (import problems). Each is a
    count per account on an index of (account, state), so it reads the few open and failed actions,
    never the millions that succeeded (a join and GROUP BY over every action took 1.3 s at 2,000,000)."""
    actions = ChannelAction.objects.filter(account=OuterRef("pk"))
    return accounts.annotate(
        waiting=_count_of(actions.filter(state__in=ChannelAction.OPEN_STATES)),
        retrying=_count_of(actions.filter(ChannelAction.RETRYING)),
        failed=_count_of(actions.filter(state=ChannelAction.State.FAILED)),
        open_problems=_count_of(ImportProblem.objects.filter(account=OuterRef("pk"), resolved_at__isnull=True)),
    )


def account_health(account: ChannelAccount) -> SyncHealth:
    """The sync health of an account read through accounts_with_sync_counts: the accounts list, its
    "not in sync" filter and Today all read it here, so their words and counts agree."""
    return account_sync_health(account=account, open_import_problems=account.open_problems,
                               failed_actions=account.failed, retrying_actions=account.retrying)


def account_in_sync(account: ChannelAccount) -> bool:
    """What Today counts among "accounts not in sync" when False: an active account whose health is not
    OK (an inactive account is neither imported nor sent to, so nothing of it drifts)."""
    return not account.is_active or account_health(account).is_ok


def account_ids_not_in_sync() -> list[int]:
    """The accounts Today counts as not in sync, for the accounts list's filter. Health mixes times,
    counts and whether the credentials can be decrypted, so it is judged per account in Python, on one
    read of the (few) accounts."""
    accounts = accounts_with_sync_counts(ChannelAccount.objects.order_by("pk"))
    return [account.pk for account in accounts if not account_in_sync(account)]


def _count_of(rows: QuerySet) -> Coalesce:
    return Coalesce(Subquery(rows.order_by().values("account").annotate(count=Count("pk")).values("count")), 0)


def shipments_sharing_tracking(*, shipment: Shipment, limit: int = 5) -> list[Shipment]:
    """Other shipments carrying the same tracking number (any case): one package on two shipments
    is most often a slip. Through the shipments' upper-case tracking index."""
    return list(Shipment.objects.annotate(number=Upper("tracking_number"))
                .filter(Shipment.STANDING, number=shipment.tracking_number.upper()).exclude(pk=shipment.pk)
                .select_related("order").order_by("pk")[:limit])
