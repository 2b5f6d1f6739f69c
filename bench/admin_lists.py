"""Every admin list's server time on a database with years of history (issue 13: < 150 ms median with any
one filter or search, a fixed number of queries, no exact COUNT(*) over a large result). The data is
bench/history_seed.py's: orders × 3 items, 5 Order Log lines and 2 channel actions per order, credit memos,
bulk jobs, import problems.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/backoffice .venv/bin/python bench/admin_lists.py \\
        --orders 1000000 --keepdb

With --keepdb the database (bench_<name>_history) is kept, and reused by the next run of the same size.
"""

import argparse
import datetime
import statistics

import _setup

parser = argparse.ArgumentParser()
parser.add_argument("--orders", type=int, default=1_000_000)
parser.add_argument("--runs", type=int, default=7)
parser.add_argument("--keepdb", action="store_true", help="keep bench_<name>_history for the next run")
args = parser.parse_args()

drop = _setup.test_database(keepdb=True, purpose="history")
try:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from _generate import history_database

    if connection.vendor != "postgresql":
        raise SystemExit("run it on PostgreSQL (DATABASE_URL)")
    walmart, amazon = history_database(orders=args.orders)
    print(f"machine: {_setup.machine()}, {args.orders:,} orders")

    user, _ = get_user_model().objects.get_or_create(username="bench", defaults={"is_superuser": True, "is_staff": True})
    client = Client()
    client.force_login(user)
    middle_order = str(1800000000000 + args.orders // 2)
    shipped_order_id = args.orders // 2 - (args.orders // 2) % 6 + 3  # the generator ships orders n % 6 = 3
    today = datetime.date.today()
    week_ago, tomorrow = str(today - datetime.timedelta(days=7)), str(today + datetime.timedelta(days=1))
    deep_grid_page = min(2000, args.orders // 6 // 50 * 3 // 5)  # 3/5 of the way through the unshipped orders
    lists = {
        "orders grid": ("admin:orders_order_changelist", {
            "no filter": {},
            "status = unshipped": {"status": "unshipped"},
            f"status = unshipped, page {deep_grid_page:,}": {"status": "unshipped", "p": deep_grid_page},
        }),
        "Order Log": ("admin:orders_orderlog_changelist", {
            "no filter": {},
            "account": {"order__account__id__exact": walmart.pk},
            "type = error": {"type__exact": "error"},
            "initiator = manual": {"initiator__exact": "user"},
            "time: past 7 days": {"created_at__gte": week_ago, "created_at__lt": tomorrow},
            "search order #": {"q": middle_order},
            "page 1,000": {"p": 1000},
        }),
        "channel actions": ("admin:orders_channelaction_changelist", {
            "no filter": {},
            "state = failed": {"state__exact": "failed"},
            "state = pending": {"state__exact": "pending"},
            "kind = cancel (none in the data)": {"kind__exact": "cancel"},
            "account": {"account__id__exact": amazon.pk},
            "account + failed (accounts page link)": {"account__id__exact": walmart.pk, "state__exact": "failed"},
            "search order #": {"q": middle_order},
        }),
        "shipments": ("admin:orders_shipment_changelist", {
            "no filter": {},
            "search tracking #": {"q": f"1Z999AA1{shipped_order_id:010d}"},
            "sync state = error (none in the data)": {"sync_state__exact": "error"},
            "carrier = FedEx (none in the data)": {"carrier__exact": "FedEx"},
            "search order #": {"q": str(1800000000000 + shipped_order_id)},
        }),
        "credit memos": ("admin:creditmemos_creditmemo_changelist", {
            "no filter": {},
            "search order #": {"q": str(1800000000000 + args.orders // 2 // 100 * 100)},
        }),
        "bulk jobs": ("admin:orders_bulkjob_changelist", {"no filter": {}, "state = done": {"state__exact": "done"}}),
        "accounts (sync health)": ("admin:channels_channelaccount_changelist", {"no filter": {}}),
        "import problems": ("admin:orders_importproblem_changelist", {
            "no filter": {}, "open": {"status": "open"}, "account": {"account__id__exact": walmart.pk},
        }),
    }
    print(f"{'list':24} {'case':40} {'median ms':>9} {'max ms':>7} {'SQL ms':>6} {'queries':>7} {'COUNT(*)':>8} "
          f"{'rows':>9}")
    for list_name, (url_name, cases) in lists.items():
        url = reverse(url_name)
        for case, params in cases.items():
            timings, queries, response = _setup.timed_get(client, url, params, runs=args.runs)
            counts = sum("COUNT(" in query["sql"].upper() for query in queries)
            sql_ms = sum(float(query["time"]) for query in queries) * 1000  # the last run's database share
            cl = response.context_data["cl"]
            rows = f"{'~' if getattr(cl.paginator, 'count_is_estimate', False) else ''}{cl.result_count:,}"
            print(f"{list_name:24} {case:40} {statistics.median(timings):9.0f} {max(timings):7.0f} {sql_ms:6.0f} "
                  f"{len(queries):7d} {counts:8d} {rows:>9}", flush=True)
finally:
    if not args.keepdb:
        drop()
