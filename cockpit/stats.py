"""Daily per-account figures (DailyAccountStats), counted set-based from our orders.

The seller-performance rates and the charts read these rows instead of scanning a quarter of
orders on every page view. Beat recounts the whole 90 days every few minutes: an order sold weeks ago
is refunded, canceled or shipped today, so recounting only the last days left older days behind the
grid their counts open. Each refresh is a handful of grouped queries whatever the number of orders
or accounts (BENCHMARKS.md).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db import transaction
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from channels.models import ChannelAccount
from orders.filters import SELLER_METRICS, counts_against_q, measured_q
from orders.models import ChannelAction, Order, OrderLog, Shipment

from .models import DailyAccountStats

HISTORY_DAYS = 90  # the longest window shown (rates and charts)
# Histogram bucket edges: a bucket holds values from the previous edge up to (not including) its own;
# the last bucket holds everything from the last edge on.
SHIP_HOURS = (12, 24, 48, 72, 120)
IMPORT_MINUTES = (1, 5, 15, 60, 240)
CONFIRM_SECONDS = (5, 30, 120, 600, 3600)
# Seller-performance rate (orders.filters.SELLER_METRICS) → the daily figures of (the orders counting
# against it, the orders it is measured on); each counted on the day of the rate's own date.
RATE_FIELDS = {"late_shipment": ("late_orders", "due_orders"),
               "tracking_problem": ("tracking_problem_orders", "shipped_orders"),
               "seller_canceled": ("seller_canceled_orders", "merchant_orders"),
               "refunded": ("refunded_orders", "merchant_orders")}


def day_range(*, days: int, now: dt.datetime | None = None) -> tuple[dt.date, dt.datetime, dt.datetime]:
    """The first of the last `days` days (today included, in TIME_ZONE) and that range as datetimes."""
    today = timezone.localdate(now or timezone.now())
    first = today - dt.timedelta(days=days - 1)
    start = timezone.make_aware(dt.datetime.combine(first, dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(today + dt.timedelta(days=1), dt.time.min))
    return first, start, end


def stats_refresh(*, days: int = HISTORY_DAYS, now: dt.datetime | None = None) -> int:
    """Recount the last `days` days of every account; returns the rows written."""
    now = now or timezone.now()
    first, start, end = day_range(days=days, now=now)
    rows: dict[tuple[int, dt.date], dict] = defaultdict(dict)

    sold = Order.objects.filter(sale_date__gte=start, sale_date__lt=end).annotate(
        day=TruncDate("sale_date"), lag=_lag("created_at", "sale_date"))
    for row in sold.values("account_id", "day").annotate(
        orders=Count("pk"), **_rate_counts(day_of="sale_date", now=now), **_below("lag", IMPORT_MINUTES, "minutes"),
    ).order_by():
        rows[row.pop("account_id"), row.pop("day")].update(_with_histogram(row, "import_minutes", IMPORT_MINUTES))

    due = Order.objects.filter(ship_by_date__gte=start, ship_by_date__lt=end).annotate(day=TruncDate("ship_by_date"))
    for row in due.values("account_id", "day").annotate(**_rate_counts(day_of="ship_by_date", now=now)).order_by():
        rows[row.pop("account_id"), row.pop("day")].update(row)

    shipments = Shipment.objects.filter(Shipment.STANDING, order__sale_date__gte=start, order__sale_date__lt=end).annotate(
        day=TruncDate("order__sale_date"), lag=_lag("shipped_at", "order__sale_date"))
    for row in shipments.values("order__account_id", "day").annotate(
            total=Count("pk"), **_below("lag", SHIP_HOURS, "hours")).order_by():
        rows[row.pop("order__account_id"), row.pop("day")].update(_with_histogram(row, "ship_hours", SHIP_HOURS))

    confirmed = ChannelAction.objects.filter(
        created_at__gte=start, created_at__lt=end, state=ChannelAction.State.SUCCEEDED, completed_at__isnull=False,
    ).annotate(day=TruncDate("created_at"), lag=_lag("completed_at", "created_at"))
    for row in confirmed.values("account_id", "day").annotate(
            total=Count("pk"), **_below("lag", CONFIRM_SECONDS, "seconds")).order_by():
        rows[row.pop("account_id"), row.pop("day")].update(_with_histogram(row, "confirm_seconds", CONFIRM_SECONDS))

    # Every failure writes one error line to the Order Log (orders.outbox), so the log is its history.
    failures = OrderLog.objects.filter(type=OrderLog.Type.ERROR, created_at__gte=start, created_at__lt=end)
    for row in failures.annotate(day=TruncDate("created_at")).values("order__account_id", "day").annotate(
            failed_actions=Count("pk")).order_by():
        rows[row["order__account_id"], row["day"]]["failed_actions"] = row["failed_actions"]

    return _write(rows, first=first, days=days, now=now)


def _rate_counts(*, day_of: str, now: dt.datetime) -> dict[str, Count]:
    """Per rate read on days of `day_of`: the orders measured and those counting against it, with
    the very conditions the grid's "Counts against seller performance" filter lists them by."""
    counts = {}
    for value, (against, measured) in RATE_FIELDS.items():
        if SELLER_METRICS[value].day_of == day_of:
            counts[measured] = Count("pk", filter=measured_q(value, now=now))
            counts[against] = Count("pk", filter=counts_against_q(value, now=now))
    return counts


def _lag(later: str, earlier: str) -> ExpressionWrapper:
    return ExpressionWrapper(F(later) - F(earlier), output_field=DurationField())


def _below(field: str, edges: tuple[int, ...], unit: str) -> dict[str, Count]:
    return {f"below_{edge}": Count("pk", filter=Q(**{f"{field}__lt": dt.timedelta(**{unit: edge})}))
            for edge in edges}


def _with_histogram(row: dict, name: str, edges: tuple[int, ...]) -> dict:
    """Cumulative counts below each edge, turned into one count per bucket."""
    total = row.get("total", row.get("orders", 0))
    cumulative = [row.pop(f"below_{edge}") for edge in edges] + [total]
    row[name] = [cumulative[0]] + [cumulative[i] - cumulative[i - 1] for i in range(1, len(cumulative))]
    row.pop("total", None)
    return row


FIGURES = ("orders", "merchant_orders", "shipped_orders", "tracking_problem_orders", "seller_canceled_orders",
           "refunded_orders", "due_orders", "late_orders", "failed_actions")
HISTOGRAMS = {"ship_hours": SHIP_HOURS, "import_minutes": IMPORT_MINUTES, "confirm_seconds": CONFIRM_SECONDS}


def _write(rows: dict, *, first: dt.date, days: int, now: dt.datetime) -> int:
    """Every account × day of the range is written, so a day whose orders went elsewhere reads zero."""
    empty = {name: 0 for name in FIGURES} | {name: [0] * (len(edges) + 1) for name, edges in HISTOGRAMS.items()}
    objects = [
        DailyAccountStats(account_id=account_id, day=first + dt.timedelta(days=offset), refreshed_at=now,
                          **(empty | rows.get((account_id, first + dt.timedelta(days=offset)), {})))
        for account_id in ChannelAccount.objects.values_list("pk", flat=True)
        for offset in range(days)
    ]
    with transaction.atomic():
        DailyAccountStats.objects.bulk_create(
            objects, batch_size=1000, update_conflicts=True, unique_fields=["account", "day"],
            update_fields=[*FIGURES, *HISTOGRAMS, "refreshed_at"])
    return len(objects)
