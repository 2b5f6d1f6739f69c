"""Cockpit benchmark data, made in SQL (generate_series) like bench/grid.py: a merchant's two years.

Orders are spread evenly over the last 730 days over four accounts (two per channel). Orders older
than three days are mostly shipped (3 % of them after their ship-by date, 0.5 % without a tracking
number), 2 % canceled (half at the buyer's request), 2 % refunded; the last three days hold the open
work: to acknowledge, to ship, some past their ship-by date. Every shipment has its ship action, 1 %
of them failed (with their Order Log error line); orders reach us a few minutes after the sale.
"""

ORDERS_SQL = """
INSERT INTO orders_order (account_id, marketplace_id, channel, channel_order_id, customer_order_id,
    status, channel_status, acknowledged_at, is_paid, buyer_cancel_requested, fulfillment, buyer_name,
    buyer_email, buyer_phone, shipping_address, shipping_method, sale_date, ship_by_date, currency,
    subtotal, shipping_total, tax_total, grand_total, adjustment_fee, refunded_total, store_order_number,
    store_order_created_at, sync_state, sync_error, raw_payload, created_at, updated_at)
SELECT a.id, a.marketplace_id, a.channel, (1800000000000 + n)::text, (5200000000000 + n)::text,
       s.status, s.status, now(), true, s.status = 'canceled' AND r %% 2 = 0,
       CASE WHEN r %% 50 = 7 THEN 'channel' ELSE 'merchant' END,
       'Buyer ' || n, 'buyer' || n || '@example.com', '555', '{}'::jsonb, 'Standard',
       sale, sale + interval '2 days', 'USD', 20, 2, 1.6, 23.6, 0,
       CASE WHEN s.status = 'shipped' AND r BETWEEN 950 AND 969 THEN 5 ELSE 0 END,
       NULL, NULL, CASE WHEN s.status = 'shipped' AND r >= 990 THEN 'error' ELSE 'ok' END, '', '{}'::jsonb,
       sale + ((1 + r %% 30) || ' minutes')::interval, now()
FROM generate_series(1, %(n)s) AS n
CROSS JOIN LATERAL (SELECT now() - (n::bigint * %(span_seconds)s / %(n)s || ' seconds')::interval AS sale,
                           (n::bigint * 7919) %% 1000 AS r) AS g
JOIN LATERAL (SELECT id, marketplace_id, channel FROM channels_channelaccount
              ORDER BY id OFFSET n %% 4 LIMIT 1) AS a ON true
CROSS JOIN LATERAL (SELECT CASE
    WHEN g.sale > now() - interval '3 days' THEN
        CASE WHEN r < 250 THEN CASE WHEN a.channel = 'walmart' THEN 'created' ELSE 'unshipped' END
             WHEN r < 450 THEN 'unshipped' ELSE 'shipped' END
    WHEN g.sale > now() - interval '8 days' AND r < 8 THEN 'unshipped'
    WHEN r < 20 THEN 'canceled'
    ELSE 'shipped' END AS status) AS s
"""

ITEMS_SQL = """
INSERT INTO orders_orderitem (order_id, channel_line_id, channel_line_numbers, sku, title, qty_ordered,
    qty_shipped, qty_canceled, qty_refunded, qty_reserved, unit_price, tax, shipping_charge,
    refunded_amount, channel_line_status, buyer_cancel_requested, buyer_cancel_reason)
SELECT o.id, line::text, jsonb_build_array(line::text), 'SKU-' || ((o.id * 7 + line) %% 5000), 'Item ' || line,
       1, CASE WHEN o.status = 'shipped' THEN 1 ELSE 0 END, CASE WHEN o.status = 'canceled' THEN 1 ELSE 0 END,
       0, 0, 10, 0.8, 1, CASE WHEN o.refunded_total > 0 AND line = 1 THEN 5 ELSE 0 END, o.status,
       o.buyer_cancel_requested, ''
FROM orders_order o CROSS JOIN generate_series(1, 2) AS line
"""

SHIPMENTS_SQL = """
INSERT INTO orders_shipment (order_id, source, carrier, shipping_method, tracking_number, tracking_url,
    shipped_at, sync_state, created_at)
SELECT o.id, 'operator', 'UPS', 'Standard',
       CASE WHEN (o.id * 7919) %% 1000 BETWEEN 930 AND 934 THEN '' ELSE '1Z999AA1' || lpad(o.id::text, 10, '0') END,
       '', shipped, 'ok', shipped
FROM orders_order o
CROSS JOIN LATERAL (SELECT CASE WHEN (o.id * 7919) %% 1000 BETWEEN 900 AND 929
                                THEN o.ship_by_date + interval '20 hours'
                                ELSE o.sale_date + interval '20 hours' END AS planned) AS p
CROSS JOIN LATERAL (SELECT LEAST(p.planned, now()) AS shipped) AS t
WHERE o.status = 'shipped' AND o.fulfillment = 'merchant'
"""

ACTIONS_SQL = """
INSERT INTO orders_channelaction (order_id, account_id, shipment_id, kind, payload, description, state, lane, attempts,
    max_attempts, next_attempt_at, needs_verification, idempotency_key, last_error, channel_reference,
    created_at, updated_at, completed_at)
SELECT s.order_id, o.account_id, s.id, 'ship', '{}'::jsonb, 'Ship', CASE WHEN o.sync_state = 'error' THEN 'failed'
       ELSE 'succeeded' END, 'interactive', 1, 6, s.created_at, false, md5(s.id::text)::uuid,
       CASE WHEN o.sync_state = 'error' THEN 'Invalid tracking number' ELSE '' END, '',
       s.created_at, s.created_at + ((1 + s.id %% 40) || ' seconds')::interval,
       CASE WHEN o.sync_state = 'error' THEN NULL ELSE s.created_at + ((1 + s.id %% 40) || ' seconds')::interval END
FROM orders_shipment s JOIN orders_order o ON o.id = s.order_id
"""

FAILURE_LOGS_SQL = """
INSERT INTO orders_orderlog (order_id, created_at, type, initiator, message)
SELECT a.order_id, a.updated_at, 'error', 'system', 'Ship: failed after 1 attempt(s): Invalid tracking number.'
FROM orders_channelaction a WHERE a.state = 'failed'
"""


def generate(*, orders: int, days: int = 730) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(ORDERS_SQL, {"n": orders, "span_seconds": days * 86400})
        for sql in (ITEMS_SQL, SHIPMENTS_SQL, ACTIONS_SQL, FAILURE_LOGS_SQL):
            cursor.execute(sql, {})
        cursor.execute("VACUUM ANALYZE")  # as autovacuum leaves a table: visibility map set, statistics read

DISCREPANCIES_SQL = """
INSERT INTO cockpit_reconciliationrun (account_id, started_at, finished_at, created_from, orders_checked, differences,
    error)
SELECT id, now(), now(), now() - interval '30 days', 10000, 500, '' FROM channels_channelaccount;
INSERT INTO cockpit_discrepancy (account_id, order_id, differences, summary, first_seen_at, last_seen_at, last_run_id,
    last_step, resolved_at, resolution)
SELECT o.account_id, o.id, '[{"field": "status", "line": "", "ours": "Unshipped", "channel": "Shipped"}]'::jsonb,
       'status: ours Unshipped, channel Shipped', now(), now(),
       (SELECT max(id) FROM cockpit_reconciliationrun r WHERE r.account_id = o.account_id), '', NULL, ''
FROM orders_order o WHERE o.id %% 500 = 0 AND o.sale_date > now() - interval '30 days'
"""


def add_discrepancies() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(DISCREPANCIES_SQL, {})
