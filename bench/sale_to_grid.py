"""Sale on the channel → order in the grid (issue 12 §3), p50/p95, pushed and polled.

- push, Walmart: the sandbox delivers its ORDER_UPDATES webhook to the back-office (runserver in its own
  process), which imports the named order before answering.
- push, Amazon: an ORDER_CHANGE notification goes into an SQS queue (moto's server on this machine; the
  bench sends it as Amazon would when the sale is made), read by `consume_amazon_notifications`.
- poll: the periodic import every --interval seconds (beat's job; IMPORT_INTERVAL_SECONDS), nothing pushed.

The clock starts when the sandbox has made the sale and stops when the order's row, which the grid
lists, exists. Sales come at random moments, so the poll's figure includes waiting for the next run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/backoffice .venv/bin/python bench/sale_to_grid.py --sales 30
"""

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
parser = argparse.ArgumentParser()
parser.add_argument("--sales", type=int, default=20, help="per channel and mode")
parser.add_argument("--interval", type=float, default=15.0, help="poll interval, seconds (the demo's)")
args = parser.parse_args()

work = Path(tempfile.mkdtemp(prefix="bench_sale_to_grid_"))
env = {**os.environ, "SECRET_KEY": "bench-only-not-a-secret", "SECURE_SSL_REDIRECT": "false", "DEBUG": "1",
       "CELERY_BROKER_URL": "memory://", "CHANNEL_EXTRA_HOSTS": "127.0.0.1", "LOG_LEVEL": "WARNING",
       "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}
sys.path.insert(0, str(ROOT))
from bench._processes import bench_process_database, free_port, wait_up  # noqa: E402

env["DATABASE_URL"], drop_database = bench_process_database("sale_to_grid", env, work)
os.environ.update(env)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
python = sys.executable

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
from django.db import connection, connections  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

from channels.amazon.notifications import sqs_client  # noqa: E402
from orders.models import Order  # noqa: E402
from orders.services.importing import account_import_orders  # noqa: E402
from tests.factories import AmazonAccountFactory, ChannelAccountFactory  # noqa: E402


sandbox_url, web_port, sqs_port = f"http://127.0.0.1:{free_port()}", free_port(), free_port()
processes = [subprocess.Popen([python, "manage.py", "sandbox", "--port", sandbox_url.rsplit(":", 1)[1],
                               "--seed-orders", "0", "--new-orders-every", "0"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL),
             subprocess.Popen([python, "manage.py", "runserver", f"127.0.0.1:{web_port}", "--noreload"], cwd=ROOT,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
moto = ThreadedMotoServer(ip_address="127.0.0.1", port=sqs_port, verbose=False)
moto.start()
sqs_endpoint = f"http://127.0.0.1:{sqs_port}"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure(channel: str, account, *, after_sale=None) -> list[float]:
    latencies = []
    for _ in range(args.sales):
        time.sleep(random.uniform(0, args.interval / 3))
        created = requests.post(f"{sandbox_url}/_sandbox/{channel}/orders", json={"count": 1}).json()
        order_id = (created.get("purchaseOrderIds") or created.get("AmazonOrderIds"))[0]
        sold = time.perf_counter()
        if after_sale:
            after_sale(order_id)
        while not Order.objects.filter(account=account, channel_order_id=order_id).exists():
            if time.perf_counter() - sold > args.interval * 4 + 30:
                raise SystemExit(f"{channel} order {order_id} never reached the grid")
            time.sleep(0.01)
        latencies.append(time.perf_counter() - sold)
    return latencies


def report(label: str, latencies: list[float]) -> None:
    print(f"{label}: p50 {statistics.median(latencies) * 1000:.0f} ms, p95 {percentile(latencies, 0.95) * 1000:.0f} ms, "
          f"max {max(latencies) * 1000:.0f} ms ({len(latencies)} sales)")


try:
    wait_up(f"{sandbox_url}/_sandbox/faults")
    wait_up(f"http://127.0.0.1:{web_port}/admin/login/")
    walmart = ChannelAccountFactory(title="Walmart", base_url=sandbox_url, create_store_order=False,
                                    credentials={"client_id": "c", "client_secret": "s", "webhook_secret": "whsec"})
    amazon = AmazonAccountFactory(title="Amazon", base_url=sandbox_url, create_store_order=False, seller_id="SELLER1",
                                  credentials={"client_id": "a", "client_secret": "s", "refresh_token": "r"})
    requests.post(f"{sandbox_url}/_sandbox/limits", json={"enabled": True})
    results = {}

    # -- push --------------------------------------------------------------------------------------
    requests.post(f"{sandbox_url}/_sandbox/walmart/webhooks", json={
        "url": f"http://127.0.0.1:{web_port}/webhooks/walmart/{walmart.pk}/", "secret": "whsec",
        "header": "X-Walmart-Signature"}).raise_for_status()
    results["push, Walmart webhook"] = measure("walmart", walmart)
    requests.delete(f"{sandbox_url}/_sandbox/walmart/webhooks")

    sqs = sqs_client(endpoint_url=sqs_endpoint)
    queue_url = sqs.create_queue(QueueName="order-change")["QueueUrl"]
    consumer = subprocess.Popen([python, "manage.py", "consume_amazon_notifications", "--queue-url", queue_url,
                                 "--endpoint-url", sqs_endpoint, "--wait", "20"], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL)
    processes.append(consumer)

    def notify(order_id: str) -> None:
        sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({
            "NotificationVersion": "1.0", "NotificationType": "ORDER_CHANGE", "PayloadVersion": "1.0",
            "EventTime": "2026-12-01T00:00:00Z", "NotificationMetadata": {},
            "Payload": {"OrderChangeNotification": {
                "NotificationLevel": "OrderLevel", "SellerId": "SELLER1", "AmazonOrderId": order_id,
                "OrderChangeType": "OrderStatusChange", "OrderChangeTrigger": {},
                "Summary": {"MarketplaceId": "ATVPDKIKX0DER", "OrderStatus": "Unshipped", "OrderItems": []}}}}))

    results["push, Amazon ORDER_CHANGE via SQS"] = measure("amazon", amazon, after_sale=notify)
    consumer.terminate()

    # -- poll --------------------------------------------------------------------------------------
    # Only the measured account is polled: Amazon's searchOrders allows a burst of 20, then one call
    # per ~3 minutes, so an Amazon poll every 15 s holds only for a few minutes (pacing then holds it back).
    for account in (walmart, amazon):
        stop = threading.Event()

        def beat(account=account, stop=stop) -> None:
            while not stop.wait(args.interval):
                account_import_orders(account_id=account.pk)
            connections.close_all()

        account_import_orders(account_id=account.pk)  # the cursor starts now
        threading.Thread(target=beat, daemon=True).start()
        results[f"poll every {args.interval:.0f} s, {account.get_channel_display()}"] = measure(account.channel, account)
        stop.set()

    print(f"machine: {platform.node()} {os.cpu_count()} cores, Python {platform.python_version()}, {connection.vendor}; "
          f"sandbox with its real limits")
    for label, latencies in results.items():
        report(label, latencies)
finally:
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait(timeout=30)
    moto.stop()
    connections.close_all()
    drop_database()
    shutil.rmtree(work, ignore_errors=True)
