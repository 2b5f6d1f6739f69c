"""The outbox's claim and sweep as the history of channel actions grows (issue 13: < 10 ms at 2,000,000
historical actions). Settled actions are generated in SQL, 10,000 → 100,000 → 1,000,000 → 2,000,000 (1 in
500 failed, the rest succeeded), spread over 100,000 orders; at each size fresh due actions are claimed
one by one, interactive and bulk lane, and beat's sweep is timed.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/backoffice .venv/bin/python bench/outbox_claim.py
"""

import argparse
import statistics
import time

import _setup

parser = argparse.ArgumentParser()
parser.add_argument("--sizes", default="10000,100000,1000000,2000000", help="historical actions, comma-separated")
parser.add_argument("--orders", type=int, default=100_000, help="the orders the history is spread over")
parser.add_argument("--claims", type=int, default=20, help="due actions claimed per lane and size")
args = parser.parse_args()

drop = _setup.test_database(purpose="outbox")
try:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from _generate import orders_generate
    from orders import outbox
    from orders.models import ChannelAction
    from tests.factories import AmazonAccountFactory, ChannelAccountFactory

    if connection.vendor != "postgresql":
        raise SystemExit("run it on PostgreSQL (DATABASE_URL)")
    outbox.dispatch_drains = lambda: None  # the broker's share is not what grows with the table
    orders_generate(orders=args.orders, walmart=ChannelAccountFactory(), amazon=AmazonAccountFactory())

    def history_add(count: int) -> None:
        """`count` more settled actions, round-robin over the orders; failed ones on orders id % 500 = 0."""
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO orders_channelaction (order_id, account_id, kind, payload, description, state, lane,
                    attempts, max_attempts, next_attempt_at, needs_verification, idempotency_key, last_error,
                    channel_reference, created_at, updated_at, completed_at)
                SELECT o.id, o.account_id, 'ship', '{}'::jsonb, 'Ship',
                       CASE WHEN o.id %% 500 = 0 THEN 'failed' ELSE 'succeeded' END, 'bulk', 1, 6,
                       now() - interval '1 day', false, gen_random_uuid(), '', '', now(), now(), now()
                FROM generate_series(1, %(count)s) AS n
                JOIN orders_order o ON o.id = 1 + n %% %(orders)s
                """, {"count": count, "orders": args.orders})
            cursor.execute("VACUUM ANALYZE orders_channelaction")

    def due_add(lane: str, first_order: int) -> None:
        """Due actions on orders with no open or failed action of their own (id % 500 = 1, … )."""
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO orders_channelaction (order_id, account_id, kind, payload, description, state, lane,
                    attempts, max_attempts, next_attempt_at, needs_verification, idempotency_key, last_error,
                    channel_reference, created_at, updated_at)
                SELECT o.id, o.account_id, 'acknowledge', '{}'::jsonb, 'Acknowledge', 'pending', %(lane)s, 0, 6,
                       now() - interval '1 second', false, gen_random_uuid(), '', '', now(), now()
                FROM orders_order o WHERE o.id %% 500 = 1 AND o.id >= %(first)s ORDER BY o.id LIMIT %(claims)s
                """, {"lane": lane, "first": first_order, "claims": args.claims})

    def timed(function) -> float:
        started = time.perf_counter()
        function()
        return (time.perf_counter() - started) * 1000

    def claim_timed(claims: list[float], claims_sql: list[float]) -> ChannelAction:
        """One claim: its time, and the database's share of it (queries and commit; the rest is Django's)."""
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            action = outbox.claim()
            claims.append((time.perf_counter() - started) * 1000)
        claims_sql.append(sum(float(query["time"]) for query in queries.captured_queries) * 1000)
        return action

    print(f"machine: {_setup.machine()}; {args.orders:,} orders")
    print(f"{'historical actions':>18} {'claim interactive':>18} {'claim bulk':>11} {'claim, none due':>15} "
          f"{'sweep, due':>10} {'sweep, none':>11} {'SQL of a claim':>14}   (median ms; max in brackets)")
    in_table = 0
    for size in (int(size) for size in args.sizes.split(",")):
        started = time.perf_counter()
        history_add(size - in_table)
        in_table = size
        print(f"  ({size:,} settled actions in the table after {time.perf_counter() - started:.0f}s)", flush=True)
        cells, claims_sql = [], []
        for lane in (ChannelAction.Lane.INTERACTIVE, ChannelAction.Lane.BULK):
            due_add(lane, first_order=1 + args.orders // 2 * (lane == ChannelAction.Lane.BULK))
            sweep_due = [timed(outbox.sweep_due_actions) for _ in range(5)]
            claims = []
            for _ in range(args.claims):
                action = claim_timed(claims, claims_sql)
                assert action is not None and action.lane == lane, action
            ChannelAction.objects.filter(state=ChannelAction.State.IN_FLIGHT).update(
                state=ChannelAction.State.SUCCEEDED)  # settled, as the history
            in_table += args.claims
            cells.append(claims)
        none_due = [timed(outbox.claim) for _ in range(5)]
        sweep_none = [timed(outbox.sweep_due_actions) for _ in range(5)]

        def cell(timings: list[float]) -> str:
            return f"{statistics.median(timings):.1f} ({max(timings):.1f})"

        print(f"{size:>18,} {cell(cells[0]):>18} {cell(cells[1]):>11} {cell(none_due):>15} {cell(sweep_due):>10} "
              f"{cell(sweep_none):>11} {cell(claims_sql):>14}", flush=True)
finally:
    drop()
