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


def generate(walmart, amazon) -> None:
    """Orders × 3 items, both channels, every status; a shipment with a tracking # for every shipped one."""
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO orders_order (account_id, marketplace_id, channel, channel_order_id, customer_order_id,
                status, channel_status, is_paid, buyer_cancel_requested, fulfillment, buyer_name, buyer_email,
                buyer_phone, shipping_address, shipping_method, sale_date, ship_by_date, currency, subtotal,
                shipping_total, tax_total, grand_total, adjustment_fee, refunded_total, store_order_number,
                store_order_created_at, sync_state, sync_error, raw_payload, created_at, updated_at)
            SELECT CASE WHEN n %% 2 = 0 THEN %(wm)s ELSE %(az)s END,
                   CASE WHEN n %% 2 = 0 THEN %(wm_mp)s ELSE %(az_mp)s END,
                   CASE WHEN n %% 2 = 0 THEN 'walmart' ELSE 'amazon' END,
                   (1800000000000 + n)::text, (5200000000000 + n)::text,
                   (ARRAY['created','unshipped','partially_shipped','shipped','canceled','pending'])[1 + n %% 6],
                   'x', true, n %% 97 = 0, CASE WHEN n %% 10 = 0 THEN 'channel' ELSE 'merchant' END,
                   'Buyer ' || n, 'buyer' || n || '@example.com', '555', '{}'::jsonb, 'Standard',
                   now() - (n || ' minutes')::interval, now() - (n || ' minutes')::interval + interval '3 days',
                   'USD', 20, 2, 1.6, 23.6, 0, 0,
                   CASE WHEN n %% 3 = 0 THEN (100000000 + n)::text END,
                   CASE WHEN n %% 3 = 0 THEN now() END,
                   CASE WHEN n %% 1000 = 0 THEN 'error' ELSE 'ok' END, '', '{}'::jsonb, now(), now()
            FROM generate_series(1, %(n)s) AS n
            """,
            {"n": args.orders, "wm": walmart.pk, "az": amazon.pk, "wm_mp": walmart.marketplace_id,
             "az_mp": amazon.marketplace_id},
        )
        cursor.execute(
            """
            INSERT INTO orders_orderitem (order_id, channel_line_id, channel_line_numbers, sku, title, qty_ordered,
                qty_shipped, qty_canceled, qty_refunded, qty_reserved, unit_price, tax, shipping_charge,
                refunded_amount, channel_line_status, buyer_cancel_requested, buyer_cancel_reason)
            SELECT o.id, line::text, jsonb_build_array(line::text), 'SKU-' || ((o.id * 7 + line) % 5000),
                   'Item ' || line, 1, 0, 0, 0, 0, 10, 0.8, 2, 0, 'Created', false, ''
            FROM orders_order o CROSS JOIN generate_series(1, 3) AS line
            """
        )
        cursor.execute(
            """
            INSERT INTO orders_shipment (order_id, source, carrier, shipping_method, tracking_number, tracking_url,
                shipped_at, sync_state, created_at)
            SELECT o.id, 'operator', 'UPS', 'Standard', '1Z999AA1' || lpad(o.id::text, 10, '0'), '', now(), 'ok', now()
            FROM orders_order o WHERE o.status = 'shipped'
            """
        )
        cursor.execute("ANALYZE")
    print(f"generated {args.orders:,} orders × 3 items in {time.perf_counter() - started:.0f}s")


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
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from channels.models import ChannelAccount
    from orders.models import Order
    from tests.factories import AmazonAccountFactory, ChannelAccountFactory

    if connection.vendor != "postgresql":
        raise SystemExit("run it on PostgreSQL (DATABASE_URL)")
    if args.keepdb and Order.objects.count() >= args.orders:
        walmart, amazon = ChannelAccount.objects.get(channel="walmart"), ChannelAccount.objects.get(channel="amazon")
    else:
        walmart, amazon = ChannelAccountFactory(), AmazonAccountFactory()
        generate(walmart, amazon)
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
        "search SKU": {"search": "SKU-42"},
        "search SKU, lower case": {"search": "sku-4242"},
        "search tracking #": {"search": f"1Z999AA1{middle - middle % 6 + 3:010d}"},
        "search buyer email": {"search": f"buyer{middle}@example.com"},
        "search buyer email, its start": {"search": f"buyer{middle}@exam"},
        "search buyer name": {"search": f"Buyer {middle}"},
    }
    print(f"{'case':32} {'median ms':>10} {'max ms':>8} {'queries':>8} {'rows':>8}")
    for name, params in cases.items():
        timings = []
        for _ in range(args.runs):
            with CaptureQueriesContext(connection) as queries:
                t0 = time.perf_counter()
                response = client.get(url, params)
                timings.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200, response.status_code
        rows = response.context_data["cl"].result_count
        print(f"{name:32} {statistics.median(timings):10.0f} {max(timings):8.0f} {len(queries):8d} {rows:8d}")
    if args.select_all:
        select_all_and_export(client, url)
finally:
    if not args.keepdb:
        drop()
