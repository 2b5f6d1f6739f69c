"""The cockpit's pages at scale (issue 15: 1,000,000 orders on PostgreSQL, under 300 ms median, a fixed
number of queries whatever the data). Data is generated in SQL (bench/cockpit_data.py).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/backoffice .venv/bin/python bench/cockpit.py --orders 1000000

With --keepdb the generated database stays for the next run, which only applies new migrations.
"""

import argparse
import statistics
import time

import _setup

parser = argparse.ArgumentParser()
parser.add_argument("--orders", type=int, default=1_000_000)
parser.add_argument("--runs", type=int, default=9)
parser.add_argument(
    "--keepdb", action="store_true", help="Keep bench_<name> (and its orders) for the next run, which only migrates it."
)
args = parser.parse_args()

drop = _setup.test_database(keepdb=args.keepdb)


def _days_ago(days: int) -> str:
    from django.utils import timezone

    return (timezone.localdate() - timezone.timedelta(days=days)).isoformat()


try:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    import cockpit_data
    from channels.models import ChannelAccount
    from orders.models import Order
    from tests.factories import AmazonAccountFactory, AmazonMarketplaceFactory, ChannelAccountFactory

    if connection.vendor != "postgresql":
        raise SystemExit("run it on PostgreSQL (DATABASE_URL)")
    if not (args.keepdb and Order.objects.count() >= args.orders):
        if not ChannelAccount.objects.exists():
            ChannelAccountFactory.create_batch(2)
            AmazonAccountFactory.create_batch(2, marketplace=AmazonMarketplaceFactory())
        started = time.perf_counter()
        cockpit_data.generate(orders=args.orders)
        print(f"generated {args.orders:,} orders in {time.perf_counter() - started:.0f}s")
    from cockpit.models import Discrepancy
    from cockpit.stats import HISTORY_DAYS, stats_refresh

    if not Discrepancy.objects.exists():
        cockpit_data.add_discrepancies()
    print(f"machine: {_setup.machine()}, {Order.objects.count():,} orders, "
          f"{Discrepancy.objects.count():,} orders needing attention")
    for run in ("first", "second"):  # beat's recount, every few minutes; the second on warm caches
        started = time.perf_counter()
        rows = stats_refresh(days=HISTORY_DAYS)
        print(f"daily figures of the last {HISTORY_DAYS} days recounted ({rows} rows, {run} run) "
              f"in {time.perf_counter() - started:.1f}s")

    user, _ = get_user_model().objects.get_or_create(username="bench", defaults={"is_superuser": True, "is_staff": True})
    client = Client()
    client.force_login(user)
    grid = reverse("admin:orders_order_changelist")
    cases = {
        "Today (admin index)": (reverse("admin:index"), {}),
        "Seller performance": (reverse("admin:cockpit_performance"), {}),
        "Charts": (reverse("admin:cockpit_charts"), {}),
        "Needs attention (open)": (reverse("admin:cockpit_discrepancy_changelist"), {"status": "open"}),
        "grid: no filter (for comparison)": (grid, {}),
        "grid: to ship today": (grid, {"to_ship": "today"}),
        "grid: past ship-by": (grid, {"to_ship": "overdue"}),
        "grid: at risk of auto-cancel": (grid, {"to_ship": "auto_cancel_risk"}),
        "grid: buyer cancel requests": (grid, {"to_ship": "all", "buyer_cancel_requested": "true"}),
        "grid: late shipments, 30 days": (grid, {"counts_against": "late_shipment",
                                                 "ship_by_date_after": _days_ago(29), "ship_by_date_before": _days_ago(0)}),
        "grid: tracking problems, 30 d": (grid, {"counts_against": "tracking_problem", "sale_date_after": _days_ago(29)}),
        "grid: seller-canceled, 30 d": (grid, {"counts_against": "seller_canceled", "sale_date_after": _days_ago(29)}),
        "grid: refunded, 30 d": (grid, {"counts_against": "refunded", "sale_date_after": _days_ago(29)}),
    }
    print(f"{'page':32} {'median ms':>10} {'max ms':>8} {'SQL ms':>7} {'queries':>8}")
    for name, (url, params) in cases.items():
        timings, counts, sql = [], set(), []
        for _ in range(args.runs):
            with CaptureQueriesContext(connection) as queries:
                t0 = time.perf_counter()
                response = client.get(url, params)
                timings.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200, (name, response.status_code)
            counts.add(len(queries))
            sql.append(sum(float(query["time"]) for query in queries.captured_queries) * 1000)
        print(f"{name:32} {statistics.median(timings):10.0f} {max(timings):8.0f} {statistics.median(sql):7.0f} "
              f"{'/'.join(map(str, sorted(counts))):>8}")
finally:
    if not args.keepdb:
        drop()
