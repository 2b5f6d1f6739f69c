"""The order grid's filters (R-GRID-2), defined once: the admin grid and the CSV export both use them."""

import datetime as dt
import functools
from dataclasses import dataclass

import django_filters
from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.db.models.lookups import In
from django.utils import timezone

from channels.models import AUTO_CANCEL_IN_BUSINESS_DAYS, Channel, ChannelAccount, Marketplace

from .models import ChannelAction, Fulfillment, Order, OrderItem, OrderReturn, OrderStatus, Shipment, SyncState
from .status import orders_shown_with_status

YES_NO = [("true", "Yes"), ("false", "No")]
SEARCH_ITEM_LIMIT = 5000  # items and shipments a search reads for their orders; a wider one needs narrowing
SEARCH_MIN_PARTIAL = 3  # shorter searches match whole order numbers only (a trigram needs 3 characters)
# Orders the merchant still has to ship (the partial index order_to_ship_idx covers exactly these).
TO_SHIP_STATUSES = (OrderStatus.CREATED, OrderStatus.UNSHIPPED, OrderStatus.PARTIALLY_SHIPPED)
# An order is at risk of the channel's automatic cancellation from this long before its deadline.
AUTO_CANCEL_WARNING = dt.timedelta(days=1)
TO_SHIP_CHOICES = [
    ("all", "Everything to ship"),
    ("today", "Ship by today (not late yet)"),
    ("overdue", "Past ship-by date"),
    ("auto_cancel_risk", "At risk of the channel's automatic cancellation"),
]
def to_ship_q(value: str, *, now: dt.datetime | None = None, refused: list[int] | None = None) -> Q:
    """Merchant-fulfilled orders waiting to be shipped, narrowed by their ship-by deadline. The channel's
    automatic cancellation comes auto_cancel_after_days after ship-by, per account (one small query
    for the accounts; each account's cutoff is a plain range on the index). `refused`: the
    refused_shipments() of a caller that builds several of these at once."""
    now = now or timezone.now()
    # Walmart keeps an order whose other units were canceled Partially Shipped: with nothing left to
    # ship it is no work for anyone.
    open_units = OrderItem.objects.filter(order=OuterRef("pk"), qty_ordered__gt=F("qty_shipped") + F("qty_canceled"))
    waiting = (Q(status__in=TO_SHIP_STATUSES, fulfillment=Fulfillment.MERCHANT) & Q(Exists(open_units))
               | Q(pk__in=refused_shipments() if refused is None else refused))
    if value == "today":
        # Still to make today, not yet late: an order past its ship-by is counted as late only, so
        # "to ship today" and "past ship-by" are two piles of work, never one order twice.
        start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
        return waiting & Q(ship_by_date__gte=now, ship_by_date__lt=start + dt.timedelta(days=1))
    if value == "overdue":
        return waiting & Q(ship_by_date__lt=now)
    if value == "auto_cancel_risk":
        return waiting & auto_cancel_risk_q(accounts=ChannelAccount.objects.only("pk", "channel", "auto_cancel_days"),
                                            now=now)
    return waiting


def refused_shipments() -> list[int]:
    """Orders a shipment the channel refused left shipped here only: the channel still waits for their
    units and cancels them on its own deadline. Few (each waits for an operator, with sync_state error,
    on its index), so listed by id: an OR of the id list keeps the to-ship index's plan."""
    refused = ChannelAction.objects.filter(order=OuterRef("pk"), kind=ChannelAction.Kind.SHIP,
                                           state=ChannelAction.State.FAILED).exclude(payload__is_update=True)
    return list(Order.objects.filter(sync_state=SyncState.ERROR, fulfillment=Fulfillment.MERCHANT)
                .filter(Exists(refused)).values_list("pk", flat=True))


def auto_cancel_risk_q(*, accounts, now: dt.datetime) -> Q:
    """Ship-by dates whose automatic cancellation (auto_cancel_deadline) comes within
    AUTO_CANCEL_WARNING, or has passed: a few plain ranges per account, on the index."""
    at_risk = Q(pk__in=[])
    horizon = now + AUTO_CANCEL_WARNING
    for account in accounts:
        days = account.auto_cancel_after_days
        if account.channel not in AUTO_CANCEL_IN_BUSINESS_DAYS:
            at_risk |= Q(account_id=account.pk, ship_by_date__lte=horizon - dt.timedelta(days=days))
            continue
        # A ship-by day's deadline day grows with it: days due before the horizon's day are wholly at
        # risk, those due on it up to the horizon's time of day, later ones not at all.
        last_day = timezone.localtime(horizon).date()
        day = last_day
        while (due := _business_days_after(day, days)) >= last_day:
            if due == last_day:
                at_risk |= Q(account_id=account.pk, ship_by_date__gte=_start_of(day),
                             ship_by_date__lte=_start_of(day) + (horizon - _start_of(due)))
            day -= dt.timedelta(days=1)
        at_risk |= Q(account_id=account.pk, ship_by_date__lt=_start_of(day + dt.timedelta(days=1)))
    return at_risk


def auto_cancel_deadline(*, account: ChannelAccount, ship_by: dt.datetime) -> dt.datetime:
    """When the channel cancels an order not shipped with tracking: the account's days after its
    ship-by, calendar days or, on a channel that counts business days (Monday to Friday in the
    operator's time zone; holidays not known), at the same time of the last business day."""
    days = account.auto_cancel_after_days
    if account.channel not in AUTO_CANCEL_IN_BUSINESS_DAYS:
        return ship_by + dt.timedelta(days=days)
    local = timezone.localtime(ship_by)
    return _start_of(_business_days_after(local.date(), days)) + (local - _start_of(local.date()))


def _business_days_after(day: dt.date, count: int) -> dt.date:
    while count:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:  # Monday to Friday
            count -= 1
    return day


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time()))


class AnyOf(In):
    """`field IN (…)` that PostgreSQL is sent as `field = ANY(%s)` with one array parameter: the same
    plan, but thousands of ids (a SKU prefix matches that many orders) are not thousands of
    placeholders for the driver to fill in, three times a page (estimate, count, rows)."""

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        # The column's own type: against an array of another integer type the planner costs the
        # test per row as it would without a hash table, and walks the sale-date index instead.
        return f"{lhs} = ANY(%s::{self.lhs.output_field.cast_db_type(connection)}[])", (*lhs_params, list(self.rhs))


@dataclass(frozen=True)
class SellerMetric:
    """A seller-performance rate, defined once for the cockpit's counts (cockpit.stats) and for the
    grid its counts open: the order date whose day puts an order in a window, and in words the orders
    that count against the rate."""

    label: str
    day_of: str  # "sale_date" or "ship_by_date": the window is days of this date (TIME_ZONE)


SELLER_METRICS = {
    "late_shipment": SellerMetric("Late shipment (or not shipped by ship-by date)", "ship_by_date"),
    "tracking_problem": SellerMetric("Shipment without valid tracking", "sale_date"),
    "seller_canceled": SellerMetric("Canceled by the seller", "sale_date"),
    "refunded": SellerMetric("Refunded", "sale_date"),
}
COUNTS_AGAINST_CHOICES = [(value, metric.label) for value, metric in SELLER_METRICS.items()]
# Nothing for the merchant to ship, so never late: canceled, not paid yet, or Amazon's Unfulfillable
# (an order Amazon says cannot be fulfilled, its multi-channel fulfillment orders).
NOT_DUE = (OrderStatus.CANCELED, OrderStatus.PENDING, OrderStatus.UNFULFILLABLE)
# The conditions of the partial indexes shipment_tracking_problem_idx and order_item_seller_cancel_idx.
TRACKING_PROBLEM = Q(tracking_number="") | Q(sync_state=SyncState.ERROR)
SELLER_CANCELED = Q(qty_canceled__gt=0, buyer_cancel_requested=False)
# Shipments whose tracking we can judge: sent from here, or reported by the channel with a tracking
# number. Amazon's order listing reports shipments made on Seller Central without their tracking,
# which says nothing about whether the tracking was valid. A shipment withdrawn never shipped.
TRACKING_JUDGED = Shipment.STANDING & (Q(source=Shipment.Source.OPERATOR) | ~Q(tracking_number=""))


def measured_q(value: str, *, now: dt.datetime | None = None) -> Q:
    """The orders a seller-performance rate is measured on (the "of N" beside it)."""
    merchant = Q(fulfillment=Fulfillment.MERCHANT)
    if value == "late_shipment":  # due: the ship-by date has passed and there was something to ship
        return merchant & Q(ship_by_date__lt=now or timezone.now()) & ~Q(status__in=NOT_DUE)
    if value == "tracking_problem":
        return merchant & Exists(Shipment.objects.filter(TRACKING_JUDGED, order=OuterRef("pk")))
    return merchant  # cancellations and refunds: every merchant order sold


def counts_against_q(value: str, *, now: dt.datetime | None = None) -> Q:
    """Of the orders measured, those that count against the rate (the count and the grid it opens)."""
    if value == "late_shipment":
        # Late: nothing shipped by ship-by, or units still not shipped now that it has passed (a
        # partly shipped order is as much at risk of the channel's cancellation as an unshipped one).
        shipped_in_time = Shipment.objects.filter(Shipment.STANDING, order=OuterRef("pk"),
                                                  shipped_at__lte=OuterRef("ship_by_date"))
        open_units = OrderItem.objects.filter(order=OuterRef("pk"),
                                              qty_ordered__gt=F("qty_shipped") + F("qty_canceled"))
        against = ~Exists(shipped_in_time) | Exists(open_units)
    elif value == "tracking_problem":
        against = Q(pk__in=Shipment.objects.filter(TRACKING_PROBLEM).filter(TRACKING_JUDGED).values("order_id"))
    elif value == "seller_canceled":
        against = Q(is_paid=True, pk__in=OrderItem.objects.filter(SELLER_CANCELED).values("order_id"))
    elif value == "refunded":
        against = Q(refunded_total__gt=0)
    else:
        return Q()
    return measured_q(value, now=now) & against


class QuickSelect(forms.Select):
    """A select written out directly: rendering the sidebar's selects option by option through the
    template engine took a sixth of the grid page's server time."""

    def render(self, name, value, attrs=None, renderer=None):
        chosen = set(self.format_value(value))
        options = format_html_join("", '<option value="{}"{}>{}</option>', (
            (str(option), " selected" if str(option) in chosen else "", label) for option, label in self.choices))
        return format_html('<select name="{}"{}>{}</select>', name, flatatt(self.build_attrs(self.attrs, attrs)),
                           options)


class DateInputRange(django_filters.widgets.DateRangeWidget):
    def __init__(self) -> None:
        super().__init__(attrs={"type": "date"})


class OrderFilterSet(django_filters.FilterSet):
    search = django_filters.CharFilter(
        label="Search",
        method="filter_search",
        help_text="Store order #, start of a channel or customer order #, start of a SKU, tracking #, buyer name, "
        "start of a buyer email, item title.",
    )
    account = django_filters.ModelChoiceFilter(queryset=ChannelAccount.objects.all(), empty_label="All accounts",
                                              widget=QuickSelect)
    marketplace = django_filters.ModelChoiceFilter(queryset=Marketplace.objects.all(), empty_label="All marketplaces",
                                                  widget=QuickSelect)
    channel = django_filters.ChoiceFilter(choices=Channel.choices, empty_label="All channels", widget=QuickSelect)
    status = django_filters.ChoiceFilter(
        choices=OrderStatus.choices, empty_label="All statuses", method="filter_status", widget=QuickSelect,
        help_text="As the Status column shows it: an order with a change on its way is found under the status "
        "it is heading for (after →); one whose change failed under the status the channel confirmed.",
    )
    store_order_created = django_filters.ChoiceFilter(
        label="Store order created",
        choices=YES_NO,
        widget=QuickSelect,
        method="filter_store_order_created",
        empty_label="Any",
    )
    sale_date = django_filters.DateFromToRangeFilter(label="Sale date (from – to)", widget=DateInputRange())
    ship_by_date = django_filters.DateFromToRangeFilter(
        label="Ship by date (from – to)", widget=DateInputRange(), method="filter_ship_by_date"
    )
    sync_error = django_filters.ChoiceFilter(
        label="Sync error",
        choices=YES_NO,
        widget=QuickSelect,
        method="filter_sync_error",
        empty_label="Any",
    )
    fulfillment = django_filters.ChoiceFilter(choices=Fulfillment.choices, empty_label="Any fulfillment", widget=QuickSelect)
    buyer_cancel_requested = django_filters.ChoiceFilter(
        label="Buyer asked to cancel",
        choices=YES_NO,
        widget=QuickSelect,
        method="filter_buyer_cancel_requested",
        empty_label="Any",
    )
    has_return = django_filters.ChoiceFilter(
        label="Has return",
        choices=YES_NO,
        widget=QuickSelect,
        method="filter_has_return",
        empty_label="Any",
    )
    to_ship = django_filters.ChoiceFilter(
        label="To ship", choices=TO_SHIP_CHOICES, method="filter_to_ship", empty_label="Any"
    )
    counts_against = django_filters.ChoiceFilter(
        label="Counts against seller performance",
        choices=COUNTS_AGAINST_CHOICES,
        method="filter_counts_against",
        empty_label="Any",
    )

    class Meta:
        model = Order
        fields: list[str] = []

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """What operators type: store order #, the start of a channel or customer order #, the start
        of a SKU or a tracking # in any case, a buyer's name, the start of a buyer's email (relay
        addresses are long: operators paste the part they have), words of an item title. Each branch
        has its index (btree with pattern ops for prefixes, upper-case expression indexes for SKU —
        with pattern ops — and tracking #, trigram indexes for names and titles on PostgreSQL), so PostgreSQL combines them
        with a bitmap OR. Orders matched through items and shipments are looked up first, in one
        query, so the search costs one fixed extra query; their ids go in as one array (AnyOf)."""
        value = value.strip()
        if not value:
            return queryset
        if "@" in value:  # an address, whole or its start (emails are stored in lower case)
            return queryset.filter(buyer_email__startswith=value.lower())
        if len(value) < SEARCH_MIN_PARTIAL:  # a part this short matches everything: whole numbers only
            return queryset.filter(Q(channel_order_id=value) | Q(customer_order_id=value) | Q(store_order_number=value))
        # One UNION ALL branch per index, read in turn: the database stops at the limit instead of first
        # gathering every match (a short SKU prefix matches tens of thousands of items) to remove
        # repeats, and an index range read stops there too (a bitmap of both item indexes would not).
        items = OrderItem.objects.order_by().values_list("order_id", flat=True)
        matched_order_ids = list(dict.fromkeys(
            items.filter(sku__istartswith=value).union(
                items.filter(title__icontains=value),
                Shipment.objects.filter(tracking_number__iexact=value).order_by().values_list("order_id", flat=True),
                all=True)[:SEARCH_ITEM_LIMIT]
        ))
        return queryset.filter(
            Q(store_order_number=value)
            | Q(channel_order_id__startswith=value)
            | Q(customer_order_id__startswith=value)
            | Q(buyer_name__icontains=value)
            | Q(buyer_email__startswith=value.lower())
            | Q(AnyOf(F("pk"), matched_order_ids))
        )

    def filter_status(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return orders_shown_with_status(queryset, value)

    def filter_buyer_cancel_requested(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(buyer_cancel_requested=value == "true")

    def filter_ship_by_date(self, queryset: QuerySet, name: str, value: slice) -> QuerySet:
        """An order is sold before its ship-by date (a database constraint), so the range's end
        bounds the sale date too: the grid's sale-date index then finds the page without sorting
        every order in the range."""
        if value.start:
            queryset = queryset.filter(ship_by_date__gte=value.start)
        if value.stop:
            queryset = queryset.filter(ship_by_date__lte=value.stop, sale_date__lte=value.stop)
        return queryset

    def filter_store_order_created(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(store_order_number__isnull=value != "true")

    def filter_has_return(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        has_return = Exists(OrderReturn.objects.filter(order=OuterRef("pk")))
        return queryset.filter(has_return) if value == "true" else queryset.exclude(has_return)

    def filter_to_ship(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(to_ship_q(value))

    def filter_counts_against(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(counts_against_q(value))

    def filter_sync_error(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == "true":
            return queryset.filter(sync_state=SyncState.ERROR)
        return queryset.exclude(sync_state=SyncState.ERROR)


@functools.cache
def filter_param_names(filterset_class: type[django_filters.FilterSet] = OrderFilterSet) -> frozenset[str]:
    """Every query-string key the filterset reads (range filters read two); built once, as it
    builds the whole filter form."""
    names = set()
    for name, field in filterset_class().form.fields.items():
        widget = field.widget
        if isinstance(widget, django_filters.widgets.SuffixedMultiWidget):
            names.update(widget.suffixed(name, suffix) for suffix in widget.suffixes)
        elif isinstance(widget, forms.MultiWidget):
            names.update(f"{name}{suffix}" for suffix in widget.widgets_names)
        else:
            names.add(name)
    return frozenset(names)
