"""Reads of the cockpit's pages. Each runs a fixed number of queries whatever the data: grouped
counts on indexed ranges (Today) or the daily rows of cockpit.stats (rates, charts)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlencode

from django.db.models import Count, IntegerField, Max, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from channels.models import ChannelAccount
from orders.filters import SELLER_METRICS, auto_cancel_risk_q, refused_shipments, to_ship_q
from orders.models import Fulfillment, Order, OrderStatus, SyncState
from orders.selectors import account_health, account_in_sync, accounts_with_sync_counts

from . import standards
from .models import DailyAccountStats, Discrepancy
from .stats import HISTOGRAMS, HISTORY_DAYS, RATE_FIELDS

WINDOWS = (7, 30, 90)


def grid_url(**params) -> str:
    """The order grid filtered with OrderFilterSet's own query parameters."""
    query = urlencode({key: value for key, value in params.items() if value not in (None, "")})
    return f"{reverse('admin:orders_order_changelist')}?{query}"


@dataclass
class Figure:
    value: int
    url: str


@dataclass
class AccountToday:
    account: ChannelAccount | None  # None: the total row
    counts: dict[str, Figure] = field(default_factory=dict)
    health: str = ""
    in_sync: bool = True

    @property
    def cells(self) -> list[tuple[str, Figure]]:
        return [(name, self.counts[name]) for name, _label in TODAY_COLUMNS]


TODAY_COLUMNS = (
    ("to_acknowledge", "To acknowledge"),
    ("ship_today", "To ship today (not late yet)"),
    ("overdue", "Past ship-by"),
    ("auto_cancel_risk", "At risk of automatic cancellation"),
    ("cancel_requests", "Buyer cancellation requests"),
    ("failed", "Failed channel actions"),
    ("import_problems", "Import problems"),
    ("discrepancies", "Needs attention"),
)


def today(*, now: dt.datetime | None = None) -> list[AccountToday]:
    """Per account, then the total: what is due today and what went wrong. Five queries."""
    now = now or timezone.now()
    accounts = list(accounts_with_sync_counts(ChannelAccount.objects.select_related("marketplace")).annotate(
        open_discrepancies=_count_of(Discrepancy.objects.filter(resolved_at__isnull=True)),
    ).order_by("title"))
    refused = refused_shipments()
    to_ship = Order.objects.filter(to_ship_q("all", refused=refused)).values("account_id").annotate(
        to_acknowledge=Count("pk", filter=Q(status=OrderStatus.CREATED)),
        ship_today=Count("pk", filter=to_ship_q("today", now=now, refused=refused)),
        overdue=Count("pk", filter=Q(ship_by_date__lt=now)),
        auto_cancel_risk=Count("pk", filter=auto_cancel_risk_q(accounts=accounts, now=now)),
        cancel_requests=Count("pk", filter=Q(buyer_cancel_requested=True)),
    ).order_by()
    by_account = {row.pop("account_id"): row for row in to_ship}
    failed = dict(Order.objects.filter(sync_state=SyncState.ERROR).values("account_id").annotate(n=Count("pk"))
                  .order_by().values_list("account_id", "n"))
    rows, total = [], AccountToday(account=None)
    for account in accounts:
        figures = by_account.get(account.pk, {}) | {"failed": failed.get(account.pk, 0),
                                                    "import_problems": account.open_problems,
                                                    "discrepancies": account.open_discrepancies}
        row = AccountToday(account=account, health=account_health(account).summary, in_sync=account_in_sync(account))
        for name, _label in TODAY_COLUMNS:
            row.counts[name] = Figure(figures.get(name, 0), _today_url(name, account.pk))
        rows.append(row)
    for name, _label in TODAY_COLUMNS:
        total.counts[name] = Figure(sum(row.counts[name].value for row in rows), _today_url(name, None))
    total.counts["not_in_sync"] = Figure(sum(not row.in_sync for row in rows),
                                         f"{reverse('admin:channels_channelaccount_changelist')}?in_sync=no")
    return rows + [total]


def _count_of(queryset) -> Coalesce:
    return Coalesce(Subquery(queryset.filter(account=OuterRef("pk")).values("account").annotate(n=Count("pk"))
                             .values("n"), output_field=IntegerField()), Value(0))


def _today_url(name: str, account_id: int | None) -> str:
    if name == "import_problems":
        query = {"status": "open", **({"account__id__exact": account_id} if account_id else {})}
        return f"{reverse('admin:orders_importproblem_changelist')}?{urlencode(query)}"
    if name == "discrepancies":
        query = {"status": "open", **({"account__id__exact": account_id} if account_id else {})}
        return f"{reverse('admin:cockpit_discrepancy_changelist')}?{urlencode(query)}"
    params = {
        "to_acknowledge": {"status": OrderStatus.CREATED, "fulfillment": Fulfillment.MERCHANT},
        "ship_today": {"to_ship": "today"},
        "overdue": {"to_ship": "overdue"},
        "auto_cancel_risk": {"to_ship": "auto_cancel_risk"},
        "cancel_requests": {"to_ship": "all", "buyer_cancel_requested": "true"},
        "failed": {"sync_error": "true"},
    }[name]
    return grid_url(account=account_id, **params)


# -- seller performance ---------------------------------------------------------------------------

@dataclass
class Rate:
    name: str
    label: str
    percent: Decimal | None  # None: nothing to count in the window
    against: int
    out_of: int
    threshold: standards.Threshold | None
    url: str

    @property
    def breached(self) -> bool:
        return self.threshold is not None and self.threshold.breached_by(self.percent)

    @property
    def counted(self) -> str:
        """The count beside the rate, read the right way round: the orders that count against it,
        of all it is measured on ("3 of 340 late or not shipped" beside 99.1% on time)."""
        return f"{self.against} of {self.out_of} {COUNTED_WORDS[self.name][0]}"

    @property
    def counted_in_full(self) -> str:
        against, out_of = COUNTED_WORDS[self.name][1:]
        return f"{against}: {self.against}. {out_of}: {self.out_of}."


@dataclass
class AccountPerformance:
    account: ChannelAccount
    windows: dict[int, list[Rate]]
    refreshed_at: dt.datetime | None


RATE_LABELS = {
    standards.ON_TIME_SHIPMENT: "On-time shipment",
    standards.VALID_TRACKING: "Valid tracking",
    standards.SELLER_CANCELLATION: "Seller-caused cancellation",
    standards.REFUND: "Refunds",
}
# rate → the grid's "counts against" value (orders.filters.SELLER_METRICS: the window's date, the
# orders measured and those counting against it, for the counts and the grid alike)
COUNTS_AGAINST = {standards.ON_TIME_SHIPMENT: "late_shipment", standards.VALID_TRACKING: "tracking_problem",
                  standards.SELLER_CANCELLATION: "seller_canceled", standards.REFUND: "refunded"}
# The rates shown as the good share (on time, valid tracking) rather than the share counting against them.
SHOWN_AS_COMPLEMENT = {standards.ON_TIME_SHIPMENT, standards.VALID_TRACKING}
# rate → (what the orders counting against it did, and on hover: those orders, the orders measured)
COUNTED_WORDS = {
    standards.ON_TIME_SHIPMENT: ("late or not shipped", "Not shipped by their ship-by date",
                                 "Orders whose ship-by date fell in the window"),
    standards.VALID_TRACKING: ("without valid tracking", "Shipped without a tracking number the channel took",
                               "Orders sold in the window and shipped with tracking we can judge"),
    standards.SELLER_CANCELLATION: ("canceled by us", "With a line canceled without the buyer asking",
                                    "Orders sold in the window"),
    standards.REFUND: ("refunded", "Refunded in part or whole", "Orders sold in the window"),
}


def seller_performance(*, now: dt.datetime | None = None) -> list[AccountPerformance]:
    """The four rates per account over each window, beside the channel's threshold. Two queries."""
    today = timezone.localdate(now or timezone.now())
    sums = {}
    figures = {name for fields in RATE_FIELDS.values() for name in fields}
    aggregates = {f"{name}_{days}": Coalesce(Sum(name, filter=Q(day__gt=today - dt.timedelta(days=days))), 0)
                  for name in figures for days in WINDOWS}
    for row in DailyAccountStats.objects.filter(day__gt=today - dt.timedelta(days=HISTORY_DAYS)).values(
            "account_id").annotate(refreshed=Max("refreshed_at"), **aggregates).order_by():
        sums[row["account_id"]] = row
    result = []
    for account in ChannelAccount.objects.order_by("title"):
        row = sums.get(account.pk, {})
        windows = {}
        for days in WINDOWS:
            first = (today - dt.timedelta(days=days - 1)).isoformat()
            rates = []
            for name, counts_against in COUNTS_AGAINST.items():
                against_name, out_of_name = RATE_FIELDS[counts_against]
                against, out_of = row.get(f"{against_name}_{days}", 0), row.get(f"{out_of_name}_{days}", 0)
                percent = None
                if out_of:
                    share = Decimal(against) * 100 / Decimal(out_of)
                    percent = (Decimal(100) - share if name in SHOWN_AS_COMPLEMENT else share).quantize(Decimal("0.1"))
                day_of = SELLER_METRICS[counts_against].day_of
                url = grid_url(account=account.pk, counts_against=counts_against,
                               **{f"{day_of}_after": first, f"{day_of}_before": today.isoformat()})
                rates.append(Rate(name, RATE_LABELS[name], percent, against, out_of,
                                  standards.THRESHOLDS[account.channel][name], url))
            windows[days] = rates
        result.append(AccountPerformance(account, windows, row.get("refreshed")))
    return result


# -- charts ---------------------------------------------------------------------------------------

@dataclass
class ChartData:
    days: list[dt.date]
    orders_by_account: dict[str, list[int]]  # "Channel — account" → per day
    failures_by_account: dict[str, list[int]]
    histograms: dict[str, dict[str, list[int]]]  # histogram → channel → buckets
    refreshed_at: dt.datetime | None


def chart_data(*, now: dt.datetime | None = None) -> ChartData:
    """90 days of daily rows, by account. Two queries."""
    today = timezone.localdate(now or timezone.now())
    days = [today - dt.timedelta(days=offset) for offset in range(HISTORY_DAYS - 1, -1, -1)]
    index = {day: position for position, day in enumerate(days)}
    accounts = {account.pk: account for account in ChannelAccount.objects.order_by("channel", "title")}
    orders = {f"{a.get_channel_display()} — {a.title}": [0] * len(days) for a in accounts.values()}
    failures = {name: [0] * len(days) for name in orders}
    histograms = {name: {} for name in HISTOGRAMS}
    refreshed = None
    rows = DailyAccountStats.objects.filter(day__gte=days[0], day__lte=today).only(
        "account_id", "day", "orders", "failed_actions", "refreshed_at", *HISTOGRAMS)
    for row in rows:
        account = accounts.get(row.account_id)
        if account is None:
            continue
        name = f"{account.get_channel_display()} — {account.title}"
        orders[name][index[row.day]] = row.orders
        failures[name][index[row.day]] = row.failed_actions
        for histogram in HISTOGRAMS:
            buckets = histograms[histogram].setdefault(account.get_channel_display(),
                                                       [0] * len(getattr(row, histogram)))
            for position, count in enumerate(getattr(row, histogram)):
                buckets[position] += count
        refreshed = max(refreshed, row.refreshed_at) if refreshed else row.refreshed_at
    return ChartData(days, orders, failures, histograms, refreshed)



def open_discrepancy_of(*, order_id: int) -> Discrepancy | None:
    """The order's open Needs attention difference (at most one is open per order), for its page."""
    return Discrepancy.objects.filter(order_id=order_id, resolved_at__isnull=True).only("pk", "summary").first()
