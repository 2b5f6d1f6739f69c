"""An operator's shipment behind thousands of queued bulk acknowledgements (issue 14: p95 < 1 s
behind 10,000), with real worker processes, on Redis + PostgreSQL or in the embedded setup
(SQLite file + kombu's filesystem broker, as `make run`).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/backoffice REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/lanes.py --broker redis --bulk 10000 --samples 20
    .venv/bin/python bench/lanes.py --broker embedded --bulk 10000 --samples 20

Time is from the commit of the operator's shipment to the channel's confirmation recorded (action
succeeded). Each sample also prints how many acknowledgements were still waiting: the shipment
overtook them. The last line, `overtaken: …`, is what tests/e2e/test_lanes.py reads.
"""

import argparse
import collections
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("--broker", choices=["redis", "embedded"], required=True)
parser.add_argument("--bulk", type=int, default=10_000)
parser.add_argument("--samples", type=int, default=20)
parser.add_argument("--real-limits", action="store_true",
                    help="The sandbox enforces the channels' published limits and our clients pace to them, as in "
                    "`make run`: the bulk acknowledgements then crawl at Walmart's 60 a minute, and the question is "
                    "whether waiting for tokens keeps the workers (and the broker) from the operator's shipment.")
args = parser.parse_args()

workdir = Path(tempfile.mkdtemp(prefix="bench-lanes-"))
worker_log = workdir / "worker.log"
if args.broker == "embedded":
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'db.sqlite3'}"
    os.environ["CELERY_BROKER_URL"] = ""  # the filesystem broker
    os.environ.pop("REDIS_URL", None)
    os.environ["CELERY_FILESYSTEM_BROKER_DIR"] = str(workdir / "broker")
    for folder in ("queue", "processed", "control"):
        (workdir / "broker" / folder).mkdir(parents=True)
elif not os.environ.get("REDIS_URL"):
    sys.exit("--broker redis needs REDIS_URL (and DATABASE_URL for PostgreSQL)")
else:
    os.environ["CELERY_BROKER_URL"] = os.environ["REDIS_URL"]

import _setup  # noqa: E402  (Django starts with the environment above)

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

if args.broker == "embedded":
    call_command("migrate", verbosity=0)
    drop = lambda: None  # noqa: E731  (the temporary folder goes with the machine's /tmp)
else:
    drop = _setup.test_database()

worker = None
try:
    from channels.sandbox.server import SandboxServer
    from config.celery import app as celery_app
    from orders.batching import batched_channel_actions
    from orders.models import ChannelAction, Order
    from orders.services.acknowledge import orders_acknowledge
    from orders.services.importing import account_import_orders
    from orders.services.shipments import Tracking, order_ship
    from tests.factories import ChannelAccountFactory
    from tests.helpers import ups_tracking

    with SandboxServer() as server:
        account = ChannelAccountFactory(base_url=server.url, create_store_order=False, auto_invoice=False)
        samples = server.sandbox.walmart.create_orders(count=args.samples, qty=2)
        server.sandbox.walmart.create_orders(count=args.bulk)
        account_import_orders(account_id=account.pk)
        sample_orders = list(Order.objects.filter(channel_order_id__in=samples).order_by("pk"))
        bulk_ids = list(Order.objects.exclude(channel_order_id__in=samples).values_list("pk", flat=True))
        if args.broker == "redis":
            celery_app.control.purge()

        db = connection.settings_dict
        env = {**os.environ, "DATABASE_URL": os.environ["DATABASE_URL"] if args.broker == "embedded" else
               f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"}
        # Without --real-limits no pacing, in the sandbox or our clients: the bulk lane then runs as fast as
        # the workers can, the hardest case for the workers' time.
        server.sandbox.enforce_limits(args.real_limits)
        env["CHANNEL_PACING"] = "true" if args.real_limits else "false"
        worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=prefork",
                                   "--concurrency=2", "--queues=celery", "--loglevel=INFO", "--without-gossip",
                                   "--without-mingle", "--without-heartbeat"],
                                  cwd=_setup.ROOT, env=env, stdout=subprocess.DEVNULL, stderr=worker_log.open("w"),
                                  start_new_session=True)
        # The operator's orders are acknowledged first, so each shipment stands on its own.
        orders_acknowledge(order_ids=[order.pk for order in sample_orders])
        deadline = time.monotonic() + 120
        while ChannelAction.objects.exclude(state=ChannelAction.State.SUCCEEDED).exists():
            assert time.monotonic() < deadline, "the operator's acknowledgements never went through"
            time.sleep(0.05)

        with transaction.atomic(), batched_channel_actions():  # a bulk Acknowledge of every other order
            orders_acknowledge(order_ids=bulk_ids)
        bulk = ChannelAction.objects.filter(order_id__in=bulk_ids)
        bulk_started = time.perf_counter()
        while not bulk.filter(state=ChannelAction.State.SUCCEEDED).exists():
            time.sleep(0.05)  # the drains have started

        seconds, waiting_behind = [], []
        for serial, order in enumerate(sample_orders):
            with transaction.atomic():
                shipment = order_ship(order_id=order.pk, tracking=Tracking(carrier="UPS",
                                                                           tracking_number=ups_tracking(serial)))
            committed = time.perf_counter()
            ship = ChannelAction.objects.filter(shipment=shipment)
            waiting = bulk.exclude(state=ChannelAction.State.SUCCEEDED).count()
            while not ship.filter(state=ChannelAction.State.SUCCEEDED).exists():
                assert time.perf_counter() - committed < 120, "the shipment never reached the channel"
                time.sleep(0.02)
            seconds.append(time.perf_counter() - committed)
            waiting_behind.append(min(waiting, bulk.exclude(state=ChannelAction.State.SUCCEEDED).count()))
            print(f"shipment {serial + 1}: {seconds[-1] * 1000:.0f} ms, {waiting_behind[-1]} acknowledgements "
                  "still waiting when it was confirmed", flush=True)
            time.sleep(0.2)
        left = bulk.exclude(state=ChannelAction.State.SUCCEEDED).count()
        rate = (args.bulk - left) / (time.perf_counter() - bulk_started)

    seconds.sort()
    p95 = seconds[max(0, round(0.95 * len(seconds)) - 1)]
    print(f"machine: {_setup.machine()}; broker {args.broker}; {args.bulk} bulk acknowledgements queued; "
          f"{'paced to the published limits' if args.real_limits else 'no pacing'}")
    print(f"operator shipment, commit → confirmed: p50 {statistics.median(seconds) * 1000:.0f} ms, "
          f"p95 {p95 * 1000:.0f} ms, max {seconds[-1] * 1000:.0f} ms over {len(seconds)} samples; "
          f"{left} acknowledgements still waiting after the last one (bulk: {rate:.0f} a second meanwhile)")
    received = collections.Counter(re.findall(r"Task (orders\.tasks\.\w+)\[[^\]]+\] received", worker_log.read_text()))
    print("messages the worker received: " + ", ".join(f"{name.rsplit('.', 1)[1]} {count}"
                                                        for name, count in received.most_common()))
    print(f"overtaken: {min(waiting_behind)}")
finally:
    if worker:
        os.killpg(worker.pid, signal.SIGKILL)  # drains are long tasks: a warm shutdown would wait for them
        worker.wait(timeout=30)

    if args.broker == "redis":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = current_database() AND pid <> pg_backend_pid()")
    drop()
