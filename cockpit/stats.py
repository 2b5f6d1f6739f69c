"""Daily per-account figures (DailyAccountStats), counted set-based from our orders.

The seller-performance rates and the charts read these rows instead of scanning a quarter of
orders on every page view. Beat refreshes the last few days every few minutes (new orders,
shipments, deadlines passing) and the whole 90 days nightly (refunds and cancellations of older
orders). Each refresh is a handful of grouped queries whatever the number of orders or accounts.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db import transaction
from django.db.models import Count, DurationField, Exists, ExpressionWrapper, F, OuterRef, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from channels.models import ChannelAccount
from orders.filters import NOT_DUE, counts_against_q
from orders.models import ChannelAction, Fulfillment, Order, OrderLog, OrderStatus, Shipment

from .models import DailyAccountStats

HISTORY_DAYS = 90  # the longest window shown (rates and charts)
RECENT_DAYS = 3  # what the frequent refresh recounts
# Histogram bucket edges: a bucket holds values from the previous edge up to (not including) its own;
# the last bucket holds everything from the last edge on.
SHIP_HOURS = (12, 24, 48, 72, 120)
IMPORT_MINUTES = (1, 5, 15, 60, 240)
CONFIRM_SECONDS = (5, 30, 120, 600, 3600)
SHIPPED = (OrderStatus.SHIPPED, OrderStatus.PARTIALLY_SHIPPED)


def day_range(*, days: int, now: dt.datetime | None = None) -> tuple[dt.date, dt.datetime, dt.datetime]:
    """The first of the last `days` days (today included, in TIME_ZONE) and that range as datetimes."""
    today = timezone.localdate(now or timezone.now())
    first = today - dt.timedelta(days=days - 1)
    start = timezone.make_aware(dt.datetime.combine(first, dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(today + dt.timedelta(days=1), dt.time.min))
    return first, start, end


def stats_refresh(*, days: int = RECENT_DAYS, now: dt.datetime | None = None) -> int:
    """Recount the last `days` days of every account; returns the rows written."""
    now = now or timezone.now()
    first, start, end = day_range(days=days, now=now)
    rows: dict[tuple[int, dt.date], dict] = defaultdict(dict)

    sold = Order.objects.filter(sale_date__gte=start, sale_date__lt=end).annotate(
        day=TruncDate("sale_date"), lag=_lag("created_at", "sale_date"))
    merchant = Q(fulfillment=Fulfillment.MERCHANT)
    for row in sold.values("account_id", "day").annotate(
        orders=Count("pk"),
        merchant_orders=Count("pk", filter=merchant),
        shipped_orders=Count("pk", filter=merchant & Q(status__in=SHIPPED)),
        tracking_problem_orders=Count("pk", filter=counts_against_q("tracking_problem")),
        seller_canceled_orders=Count("pk", filter=counts_against_q("seller_canceled")),
        refunded_orders=Count("pk", filter=counts_against_q("refunded")),
        **_below("lag", IMPORT_MINUTES, "minutes"),
    ).order_by():
        rows[row.pop("account_id"), row.pop("day")].update(_with_histogram(row, "import_minutes", IMPORT_MINUTES))

    shipped_in_time = Shipment.objects.filter(order=OuterRef("pk"), shipped_at__lte=OuterRef("ship_by_date"))
    due = Order.objects.filter(merchant, ship_by_date__gte=start, ship_by_date__lt=min(end, now)).exclude(
        status__in=NOT_DUE).annotate(day=TruncDate("ship_by_date"))
    for row in due.values("account_id", "day").annotate(
            due_orders=Count("pk"), late_orders=Count("pk", filter=~Q(Exists(shipped_in_time)))).order_by():
        rows[row.pop("account_id"), row.pop("day")].update(row)

    shipments = Shipment.objects.filter(order__sale_date__gte=start, order__sale_date__lt=end).annotate(
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
