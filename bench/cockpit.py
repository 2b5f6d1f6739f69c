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
    print(f"machine: {_setup.machine()}, {Order.objects.count():,} orders")
finally:
    if not args.keepdb:
        drop()
