"""Order grid server time at scale (SPEC §9: 1,000,000 orders on PostgreSQL, under 150 ms with any one
filter, a fixed number of queries per page). Rows are generated in SQL (generate_series) for speed.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/backoffice .venv/bin/python bench/grid.py --orders 1000000
"""

import argparse
import statistics
import time

import _setup

parser = argparse.ArgumentParser()
parser.add_argument("--orders", type=int, default=1_000_000)
parser.add_argument("--runs", type=int, default=7)
args = parser.parse_args()

drop = _setup.test_database()
try:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from tests.factories import AmazonAccountFactory, ChannelAccountFactory

    if connection.vendor != "postgresql":
        raise SystemExit("run it on PostgreSQL (DATABASE_URL)")
    walmart, amazon = ChannelAccountFactory(), AmazonAccountFactory()
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
        cursor.execute("ANALYZE")
    print(f"machine: {_setup.machine()}")
    print(f"generated {args.orders:,} orders × 3 items in {time.perf_counter() - started:.0f}s")

    user = get_user_model().objects.create_superuser("bench", "b@example.com", "bench-password-1")
    client = Client()
    client.force_login(user)
    url = reverse("admin:orders_order_changelist")
    cases = {
        "no filter (estimated count)": {},
        "status=unshipped": {"status": "unshipped"},
        "account": {"account": walmart.pk},
        "channel=amazon": {"channel": "amazon"},
        "marketplace": {"marketplace": amazon.marketplace_id},
        "store order created: no": {"store_order_created": "false"},
        "sync error: yes": {"sync_error": "true"},
        "fulfillment=channel": {"fulfillment": "channel"},
        "sale date last 2 days": {"sale_date_after": time.strftime("%Y-%m-%d", time.gmtime(time.time() - 2 * 86400))},
        "ship-by date range": {"ship_by_date_after": "2026-01-01", "ship_by_date_before": "2026-02-01"},
        "sorted by ship-by date": {"o": "2"},
        "search channel order #": {"search": str(1800000000000 + args.orders // 2)},
        "search SKU": {"search": "SKU-42"},
    }
    print(f"{'case':32} {'median ms':>10} {'max ms':>8} {'queries':>8}")
    for name, params in cases.items():
        timings = []
        for _ in range(args.runs):
            with CaptureQueriesContext(connection) as queries:
                t0 = time.perf_counter()
                response = client.get(url, params)
                timings.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200, response.status_code
        print(f"{name:32} {statistics.median(timings):10.0f} {max(timings):8.0f} {len(queries):8d}")
finally:
    drop()
