"""Rows generated in SQL (generate_series) for the benchmarks at scale: orders, then a few years of their
history. Shared by bench/grid.py, bench/history_seed.py, bench/admin_lists.py and bench/outbox_claim.py."""

import time

from django.db import connection, transaction

# Per order, on average: what a busy seller's tables hold after a few years (issue 13).
LOG_LINES_PER_ORDER = 5
ACTIONS_PER_ORDER = 2
CHUNK_ORDERS = 100_000  # history is written in slices of orders so the progress shows


def orders_generate(*, orders: int, walmart, amazon) -> None:
    """Orders × 3 items, both channels, every status; a shipment with a tracking # for every shipped one."""
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
            {"n": orders, "wm": walmart.pk, "az": amazon.pk, "wm_mp": walmart.marketplace_id,
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
    print(f"generated {orders:,} orders × 3 items in {time.perf_counter() - started:.0f}s", flush=True)


def history_generate() -> None:
    """Order Log lines and channel actions for every order, as years of work leave them: five log lines
    and two actions (acknowledge, ship) per order, nearly all succeeded; 1 in 500 failed with its error
    line, and the newest orders' actions still pending, in flight or submitted (Amazon feeds). Plus the
    smaller lists' rows: a credit memo per 100 orders, a bulk job per 1,000, an import problem per 2,000."""
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id), max(id) FROM orders_order")
        first, last = cursor.fetchone()
        for low in range(first, last + 1, CHUNK_ORDERS):
            high = min(low + CHUNK_ORDERS - 1, last)
            params = {"low": low, "high": high}
            cursor.execute(
                """
                INSERT INTO orders_orderlog (order_id, created_at, type, initiator, user_id, message)
                SELECT o.id, o.sale_date + line * interval '7 minutes',
                       CASE WHEN line = 4 AND o.id %% 500 = 0 THEN 'error'
                            WHEN line IN (2, 4) THEN 'success' ELSE 'notice' END,
                       (ARRAY['channel','system','system','system','user'])[line], NULL,
                       (ARRAY['Order imported from the channel.', 'Store order ' || o.id || ' created.',
                              'Acknowledge: queued for ' || o.channel || '.',
                              CASE WHEN o.id %% 500 = 0 THEN 'Ship: failed: carrier not accepted (400).'
                                   ELSE 'Ship: done on ' || o.channel || '.' END,
                              'Tracking 1Z999AA1' || lpad(o.id::text, 10, '0') || ' entered.'])[line]
                FROM orders_order o CROSS JOIN generate_series(1, 5) AS line
                WHERE o.id BETWEEN %(low)s AND %(high)s
                """, params)
            cursor.execute(
                """
                INSERT INTO orders_channelaction (order_id, account_id, kind, payload, description, state, lane,
                    attempts, max_attempts, next_attempt_at, lease_expires_at, needs_verification, idempotency_key,
                    last_error, channel_reference, created_at, updated_at, completed_at)
                SELECT o.id, o.account_id, a.kind, '{}'::jsonb, initcap(a.kind), a.state,
                       CASE WHEN o.id %% 3 = 0 THEN 'interactive' ELSE 'bulk' END,
                       1, 6, o.sale_date + interval '1 hour',
                       CASE WHEN a.state = 'in_flight' THEN now() + interval '5 minutes' END, false,
                       gen_random_uuid(), CASE WHEN a.state = 'failed' THEN 'carrier not accepted (400)' ELSE '' END,
                       '', o.sale_date, o.sale_date, CASE WHEN a.state IN ('succeeded', 'failed') THEN o.sale_date END
                FROM orders_order o CROSS JOIN LATERAL (VALUES
                    ('acknowledge', 'succeeded'),
                    ('ship', CASE WHEN o.id %% 500 = 0 THEN 'failed'
                                  WHEN o.id > %(last)s - %(open)s THEN
                                      (ARRAY['pending', 'pending', 'submitted', 'in_flight'])[1 + o.id %% 4]
                                  ELSE 'succeeded' END)) AS a (kind, state)
                WHERE o.id BETWEEN %(low)s AND %(high)s
                """, {**params, "last": last, "open": max(40, (last - first + 1) // 1000)})
            print(f"  history of orders {low - first + 1:,}–{high - first + 1:,} of {last - first + 1:,} "
                  f"({time.perf_counter() - started:.0f}s)", flush=True)
        cursor.execute(
            """
            INSERT INTO creditmemos_creditmemo (order_id, state, channel_action, reason, comment, restock,
                items_total, shipping_refund, adjustment_refund, adjustment_fee, grand_total, channel_reference,
                error, created_at, updated_at)
            SELECT o.id, 'succeeded', 'refund', 'CUSTOMER_CHANGED_MIND', '', false, 10, 0, 0, 0, 10, '', '',
                   o.sale_date + interval '5 days', o.sale_date + interval '5 days'
            FROM orders_order o WHERE o.id % 100 = 0
            """)
        cursor.execute(
            """
            INSERT INTO orders_bulkjob (action, label, params, order_ids, total, processed, done, skipped, state,
                error, created_at, finished_at, last_order_id)
            SELECT 'acknowledge', 'Acknowledge', '{}'::jsonb, '[]'::jsonb, 200, 200, 200, '{}'::jsonb, 'done', '',
                   o.sale_date, o.sale_date + interval '2 minutes', 0
            FROM orders_order o WHERE o.id % 1000 = 0
            """)
        cursor.execute(
            """
            INSERT INTO orders_importproblem (account_id, channel_order_id, fingerprint, raw_payload, error,
                first_seen_at, last_seen_at, times_seen, resolved_at, resolution)
            SELECT o.account_id, '9' || o.channel_order_id, '9' || o.channel_order_id, '{}', 'missing shipping address',
                   o.sale_date, o.sale_date, 1, CASE WHEN o.id % 10000 <> 0 THEN o.sale_date + interval '1 hour' END,
                   CASE WHEN o.id % 10000 <> 0 THEN 'imported' ELSE '' END
            FROM orders_order o WHERE o.id % 2000 = 0
            """)
    print(f"generated the history in {time.perf_counter() - started:.0f}s", flush=True)


def history_database(*, orders: int):
    """The kept bench database with `orders` orders and their history: reused when it holds exactly that
    many, generated afresh otherwise. Returns its Walmart and Amazon accounts."""
    from channels.models import ChannelAccount
    from orders.models import Order
    from tests.factories import AmazonAccountFactory, ChannelAccountFactory

    if Order.objects.count() == orders:
        print(f"reusing the {orders:,} orders and their history already in the database", flush=True)
        return ChannelAccount.objects.get(channel="walmart"), ChannelAccount.objects.get(channel="amazon")
    started = time.perf_counter()
    with transaction.atomic():  # all or nothing, so a database holding that many orders is complete
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE channels_channelaccount, orders_bulkjob RESTART IDENTITY CASCADE")  # and all that points at them
        walmart, amazon = ChannelAccountFactory(), AmazonAccountFactory()
        orders_generate(orders=orders, walmart=walmart, amazon=amazon)
        history_generate()
    print("VACUUM ANALYZE …", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # a fresh visibility map: index-only scans, as on a settled database
    print(f"database ready in {time.perf_counter() - started:.0f}s", flush=True)
    return walmart, amazon
