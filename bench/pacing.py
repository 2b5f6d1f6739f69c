"""Pacing under load (issue 12 §2): many accounts importing and shipping at once against the sandbox
with the channels' real limits on (its default), through worker threads sharing the pacing buckets
(Redis when REDIS_URL is set, the database otherwise). Passes when no request was answered 429 and
every account imported and shipped all its orders.

Each account gets its own orders in the sandbox (sold for its client id). Walmart accounts acknowledge
and ship more orders than Walmart's per-minute burst (so their bucket must pace); Amazon accounts ship
more than confirmShipment's burst of 10 at 2/s.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/backoffice REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/pacing.py --accounts 50
"""

import argparse
import collections
import os
import platform
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
parser = argparse.ArgumentParser()
parser.add_argument("--accounts", type=int, default=50, help="half Walmart, half Amazon")
parser.add_argument("--walmart-orders", type=int, default=70, help="per Walmart account (burst: 60 a minute)")
parser.add_argument("--amazon-orders", type=int, default=14, help="per Amazon account (confirmShipment burst: 10)")
parser.add_argument("--workers", type=int, default=8)
parser.add_argument("--timeout", type=float, default=900)
args = parser.parse_args()

work = Path(tempfile.mkdtemp(prefix="bench_pacing_"))
env = {**os.environ, "SECRET_KEY": "bench-only-not-a-secret", "SECURE_SSL_REDIRECT": "false", "CELERY_BROKER_URL":
       "memory://", "CHANNEL_EXTRA_HOSTS": "127.0.0.1", "CHANNEL_PACING": "true", "LOG_LEVEL": "WARNING",
       "CHANNEL_ACTION_BACKOFF_BASE": "1"}
sys.path.insert(0, str(ROOT))
from bench._processes import bench_process_database, free_port, wait_up  # noqa: E402

env["DATABASE_URL"], drop_database = bench_process_database("pacing", env, work)
if os.environ.get("REDIS_URL"):  # buckets of an earlier run must not pace this one
    import redis

    store = redis.Redis.from_url(os.environ["REDIS_URL"])
    store.delete(*store.keys("pace:*") or ["pace:none"])
os.environ.update(env)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
python = sys.executable

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
from django.db import connection, connections  # noqa: E402

from orders import outbox  # noqa: E402
from orders.models import ChannelAction, Order  # noqa: E402
from orders.services.importing import account_import_orders  # noqa: E402
from orders.services.shipments import Tracking, order_ship  # noqa: E402
from tests.factories import AmazonAccountFactory, ChannelAccountFactory  # noqa: E402
from tests.helpers import ups_tracking  # noqa: E402

port = free_port()
url = f"http://127.0.0.1:{port}"
sandbox = subprocess.Popen([python, "manage.py", "sandbox", "--port", str(port), "--seed-orders", "0",
                            "--new-orders-every", "0"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
try:
    wait_up(f"{url}/_sandbox/faults")
    accounts = []
    for n in range(args.accounts):
        if n % 2 == 0:
            client_id = f"bench-walmart-{n}"
            account = ChannelAccountFactory(title=f"Walmart {n}", base_url=url, auto_invoice=False,
                                            credentials={"client_id": client_id, "client_secret": "s"})
            requests.post(f"{url}/_sandbox/walmart/orders",
                          json={"count": args.walmart_orders, "seller": client_id}).raise_for_status()
        else:
            client_id = f"bench-amazon-{n}"
            account = AmazonAccountFactory(title=f"Amazon {n}", base_url=url, auto_invoice=False,
                                           create_store_order=False,
                                           credentials={"client_id": client_id, "client_secret": "s",
                                                        "refresh_token": "r"})
            requests.post(f"{url}/_sandbox/amazon/orders",
                          json={"count": args.amazon_orders, "seller": client_id}).raise_for_status()
        accounts.append(account)
    expected = {a.pk: args.walmart_orders if a.channel == "walmart" else args.amazon_orders for a in accounts}

    imports: queue.Queue = queue.Queue()
    for account in accounts:
        imports.put(account.pk)
    shipped_queued: set[int] = set()
    lock = threading.Lock()
    stop = threading.Event()
    errors: list[str] = []
    first_progress: dict[int, float] = {}

    def queue_shipments() -> None:
        """The operator: ship an account's orders once they are imported and (Walmart) acknowledged."""
        for account in accounts:
            with lock:
                if account.pk in shipped_queued:
                    continue
            orders = Order.objects.filter(account_id=account.pk)
            if orders.count() < expected[account.pk]:
                continue
            if ChannelAction.objects.filter(account_id=account.pk, kind="acknowledge").exclude(
                    state=ChannelAction.State.SUCCEEDED).exists():
                continue
            with lock:
                shipped_queued.add(account.pk)
            for order_id in orders.values_list("pk", flat=True):
                order_ship(order_id=order_id, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(order_id)))

    def worker() -> None:
        try:
            while not stop.is_set():
                try:
                    account_id = imports.get_nowait()
                except queue.Empty:
                    if not outbox.process_due_actions(limit=5):
                        time.sleep(0.05)
                    continue
                account_import_orders(account_id=account_id)
                first_progress.setdefault(account_id, time.perf_counter() - started)
        except Exception as failure:  # noqa: BLE001 - reported below
            errors.append(f"{type(failure).__name__}: {failure}")
        finally:
            connections.close_all()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(args.workers)]
    for thread in threads:
        thread.start()
    total_ships = sum(expected.values())
    while time.perf_counter() - started < args.timeout and not errors:
        queue_shipments()
        done = ChannelAction.objects.filter(kind="ship", state__in=[ChannelAction.State.SUCCEEDED,
                                                                     ChannelAction.State.FAILED]).count()
        if done >= total_ships:
            break
        time.sleep(0.5)
    elapsed = time.perf_counter() - started
    stop.set()
    for thread in threads:
        thread.join(timeout=30)

    recorded = requests.get(f"{url}/_sandbox/requests", timeout=60).json()
    statuses = collections.Counter(r["status"] for r in recorded)
    actions = collections.Counter(ChannelAction.objects.values_list("state", flat=True))
    attempts = collections.Counter(ChannelAction.objects.values_list("attempts", flat=True))
    per_account = {a.pk: ChannelAction.objects.filter(account_id=a.pk, kind="ship",
                                                      state=ChannelAction.State.SUCCEEDED).count() for a in accounts}
    progressed = sum(1 for pk, count in per_account.items() if count == expected[pk])
    print(f"machine: {platform.node()} {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{connection.vendor}, buckets in {'redis' if os.environ.get('REDIS_URL') else 'the database'}, "
          f"{args.workers} worker threads")
    print(f"{args.accounts} accounts ({args.walmart_orders} orders per Walmart account, {args.amazon_orders} per "
          f"Amazon account, {total_ships} orders): {len(recorded)} channel requests in {elapsed:.1f}s")
    print(f"channel answers by status: {dict(sorted(statuses.items(), key=lambda kv: str(kv[0])))}; "
          f"HTTP 429: {statuses.get(429, 0)}")
    print(f"channel actions: {dict(actions)}; attempts per action: {dict(sorted(attempts.items()))}")
    print(f"accounts with every order imported and shipped: {progressed}/{args.accounts}; first import done "
          f"after {min(first_progress.values()):.1f}s, last after {max(first_progress.values()):.1f}s")
    if errors:
        print("worker errors:", errors[:3])
finally:
    sandbox.terminate()
    sandbox.wait(timeout=30)
    connections.close_all()
    drop_database()
    shutil.rmtree(work, ignore_errors=True)
