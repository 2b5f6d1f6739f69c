"""Order grid server time at scale (SPEC §9: 1,000,000 orders on PostgreSQL, under 150 ms with any one
filter, a fixed number of queries per page). Rows are generated in SQL (generate_series) for speed.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/backoffice .venv/bin/python bench/grid.py --orders 1000000

With --keepdb the generated database stays for the next run, which only applies new migrations.
"""

import argparse
import statistics
import time

import _setup

parser = argparse.ArgumentParser()
parser.add_argument("--orders", type=int, default=1_000_000)
parser.add_argument("--runs", type=int, default=7)
parser.add_argument(
    "--keepdb", action="store_true", help="Keep bench_<name> (and its orders) for the next run, which only migrates it."
)
parser.add_argument("--select-all", action="store_true",
                    help="Also time the grid's \"select all\" and a background CSV export of every order.")
args = parser.parse_args()

drop = _setup.test_database(keepdb=args.keepdb)


def select_all_and_export(client, url) -> None:
    """Issue 14: "select all" on the whole grid (confirmation page, then the confirmed click that
    records the job), and the background CSV export of every order: rows/s and peak memory."""
    import resource

    from django.db import models

    from orders.models import BulkJob, CsvExport
    from orders.services.csv_exports import csv_export_write, export_path

    jobs_before = BulkJob.objects.aggregate(last=models.Max("pk"))["last"] or 0
    post = {"action": "acknowledge_action", "_selected_action": ["1"], "select_across": "1"}
    for label, data in (("select all: confirmation page", post),
                        ("select all: confirmed (job recorded)", {**post, "confirm_action": "yes"})):
        timings = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            response = client.post(url, data)
            timings.append((time.perf_counter() - t0) * 1000)
            assert response.status_code in (200, 302), response.status_code
        print(f"{label:32} {statistics.median(timings):10.0f} {max(timings):8.0f}")
    BulkJob.objects.filter(pk__gt=jobs_before).delete()  # recorded only: no worker runs them here

    response = client.get(reverse("admin:orders_order_export"))
    export = CsvExport.objects.latest("pk")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    export = csv_export_write(export_id=export.pk)  # what the worker does
    seconds = time.perf_counter() - t0
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    size = export_path(export).stat().st_size
    print(f"CSV export: {export.rows_written:,} rows in {seconds:.1f}s = {export.rows_written / seconds:,.0f} rows/s, "
          f"{size / 2**20:.0f} MiB file; peak RSS {rss_before / 1024:.0f} → {rss_after / 1024:.0f} MiB "
          f"(the export page answered {response.status_code})")
    export_path(export).unlink()


try:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from _generate import orders_generate
    from channels.models import ChannelAccount
    from orders.models import Order
    from tests.factories import AmazonAccountFactory, ChannelAccountFactory

    if connection.vendor != "postgresql":
        raise SystemExit("run it on PostgreSQL (DATABASE_URL)")
    if args.keepdb and Order.objects.count() >= args.orders:
        walmart, amazon = ChannelAccount.objects.get(channel="walmart"), ChannelAccount.objects.get(channel="amazon")
    else:
        walmart, amazon = ChannelAccountFactory(), AmazonAccountFactory()
        orders_generate(orders=args.orders, walmart=walmart, amazon=amazon)
    print(f"machine: {_setup.machine()}, {Order.objects.count():,} orders")

    user, _ = get_user_model().objects.get_or_create(username="bench", defaults={"is_superuser": True, "is_staff": True})
    client = Client()
    client.force_login(user)
    url = reverse("admin:orders_order_changelist")
    middle = args.orders // 2
    cases = {
        "no filter (estimated count)": {},
        "status=unshipped": {"status": "unshipped"},
        "account": {"account": walmart.pk},
        "channel=amazon": {"channel": "amazon"},
        "marketplace": {"marketplace": amazon.marketplace_id},
        "store order created: no": {"store_order_created": "false"},
        "sync error: yes": {"sync_error": "true"},
        "fulfillment=channel": {"fulfillment": "channel"},
        "buyer asked to cancel": {"buyer_cancel_requested": "true"},
        "sale date last 2 days": {"sale_date_after": time.strftime("%Y-%m-%d", time.gmtime(time.time() - 2 * 86400))},
        "ship-by date range": {"ship_by_date_after": "2026-01-01", "ship_by_date_before": "2026-02-01"},
        "sorted by ship-by date": {"o": "2"},
        "search channel order #": {"search": str(1800000000000 + middle)},
        "search channel order # prefix": {"search": str(1800000000000 + middle)[:10]},
        "search customer order # prefix": {"search": str(5200000000000 + middle)[:11]},
        "search store order #": {"search": str(100000000 + middle - middle % 3)},
        "search SKU": {"search": "SKU-4242"},
        "search SKU, lower case": {"search": "sku-4242"},
        "search SKU prefix, lower case": {"search": "sku-424"},  # 11 SKUs
        "search SKU prefix, wide": {"search": "SKU-42"},  # 111 SKUs, 66,600 items: past SEARCH_ITEM_LIMIT
        "search tracking #": {"search": f"1Z999AA1{middle - middle % 6 + 3:010d}"},
        "search buyer email": {"search": f"buyer{middle}@example.com"},
        "search buyer email, its start": {"search": f"buyer{middle}@exam"},
        "search buyer name": {"search": f"Buyer {middle}"},
    }
    print(f"{'case':32} {'median ms':>10} {'max ms':>8} {'queries':>8} {'rows':>8}")
    for name, params in cases.items():
        timings, queries, response = _setup.timed_get(client, url, params, runs=args.runs)
        rows = response.context_data["cl"].result_count
        print(f"{name:32} {statistics.median(timings):10.0f} {max(timings):8.0f} {len(queries):8d} {rows:8d}")
    if args.select_all:
        select_all_and_export(client, url)
finally:
    if not args.keepdb:
        drop()
