"""Time from an operator's commit to the channel receiving the call (SPEC §9: p95 under 5 s), with a
real Celery worker on Redis and PostgreSQL, and the sandbox marketplace.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/backoffice REDIS_URL=redis://127.0.0.1:6379/0 \
        .venv/bin/python bench/action_latency.py --samples 50
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

os.environ["CELERY_BROKER_URL"] = os.environ.get("REDIS_URL", "")
import _setup  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--samples", type=int, default=50)
args = parser.parse_args()
if not os.environ["CELERY_BROKER_URL"].startswith("redis"):
    sys.exit("set REDIS_URL (and DATABASE_URL to PostgreSQL)")

drop = _setup.test_database()
worker = None
try:
    from django.db import connection, transaction

    from channels.sandbox.server import SandboxServer
    from config.celery import app
    from orders.models import Order
    from orders.services.importing import account_import_orders
    from orders.services.shipments import Tracking, order_ship
    from tests.factories import ChannelAccountFactory

    db = connection.settings_dict
    env = {**os.environ, "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"}
    app.control.purge()
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "config", "worker", "--concurrency=2",
                               "--loglevel=WARNING", "--without-gossip", "--without-mingle"],
                              cwd=_setup.ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with SandboxServer() as server:
        walmart = server.sandbox.walmart
        pos = walmart.create_orders(count=args.samples, acknowledged=True)
        account = ChannelAccountFactory(base_url=server.url, create_store_order=False)
        account_import_orders(account_id=account.pk)
        Order.objects.update(acknowledged_at=time.strftime("%Y-%m-%dT%H:%M:%SZ"))
        time.sleep(3)  # worker start-up
        latencies = []
        for po in pos:
            order = Order.objects.get(channel_order_id=po)
            with transaction.atomic():
                order_ship(order_id=order.pk, tracking=Tracking(
                    carrier="Bench Freight", tracking_number=f"TEST-{po}", tracking_url="https://tracking.example/"))
            committed = time.perf_counter()
            while walmart.orders[po].lines[0].shipped == 0:
                if time.perf_counter() - committed > 30:
                    raise SystemExit(f"no shipment for {po} after 30 s")
                time.sleep(0.001)
            latencies.append(time.perf_counter() - committed)
    latencies.sort()
    p95 = latencies[max(0, int(len(latencies) * 0.95) - 1)]
    print(f"machine: {_setup.machine()}, Redis broker, prefork worker ×2")
    print(f"commit → sandbox received the shipment, {len(latencies)} samples: "
          f"p50 {statistics.median(latencies) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms")
finally:
    if worker:
        worker.terminate()
        worker.wait(timeout=10)
    drop()
