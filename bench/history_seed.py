"""Seed a database the size of a busy seller's after a few years (issue 13): 1,000,000 orders × 3 items,
5 Order Log lines and 2 channel actions per order (5,000,000 and 2,000,000; nearly all succeeded, some
failed, the newest pending/in flight/submitted), credit memos, bulk jobs and import problems, all
generated in SQL. The database (bench_<name>_history) is kept for bench/admin_lists.py --keepdb.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/backoffice .venv/bin/python bench/history_seed.py --orders 1000000
"""

import argparse
import time

import _setup

parser = argparse.ArgumentParser()
parser.add_argument("--orders", type=int, default=1_000_000, help="the history grows with it (5 log lines, 2 actions each)")
args = parser.parse_args()

_setup.test_database(keepdb=True, purpose="history")

from django.db import connection  # noqa: E402

from _generate import history_database  # noqa: E402
from orders.models import ChannelAction, OrderLog  # noqa: E402

if connection.vendor != "postgresql":
    raise SystemExit("run it on PostgreSQL (DATABASE_URL)")
started = time.perf_counter()
history_database(orders=args.orders)
print(f"machine: {_setup.machine()}; {connection.settings_dict['NAME']}: {args.orders:,} orders, "
      f"{OrderLog.objects.count():,} Order Log lines, {ChannelAction.objects.count():,} channel actions "
      f"in {time.perf_counter() - started:.0f}s")
