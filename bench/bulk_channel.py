"""A bulk action carried out on the channel (issue 10 §7): 1,000 orders within 60 s in the embedded
setup (SQLite + kombu filesystem broker), 10,000 within 2 minutes with PostgreSQL + Redis.

Real Celery workers as in the Procfile (actions × 2 processes, long × 1), the sandbox marketplace in
its own process. Walmart orders are created in the sandbox and imported; then the operator runs
Acknowledge on all of them from the grid ("select all"), and the clock runs until the bulk job is
Done, i.e. every acknowledgement it queued has been answered by the channel.

    .venv/bin/python bench/bulk_channel.py --orders 1000                      # embedded
    ... --real-limits      # the sandbox's published limits on, our pacing on (as `make run`)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/backoffice REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/bulk_channel.py --orders 10000
"""

import argparse
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[1]
parser = argparse.ArgumentParser()
parser.add_argument("--orders", type=int, default=1000)
parser.add_argument("--timeout", type=float, default=600)
parser.add_argument("--real-limits", action="store_true",
                    help="The sandbox enforces Walmart's published limits and our clients pace to them (then the "
                    "channel's 60 acknowledgements a minute per seller bound the run, not the back-office).")
args = parser.parse_args()

work = Path(tempfile.mkdtemp(prefix="bench_bulk_channel_"))
database_url = os.environ.get("DATABASE_URL", "")
env = {**os.environ, "SECRET_KEY": "bench-only-not-a-secret", "SECURE_SSL_REDIRECT": "false",
       "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost", "CHANNEL_EXTRA_HOSTS": "127.0.0.1",
       "CELERY_FILESYSTEM_BROKER_DIR": str(work / "broker"), "CELERY_BROKER_URL": os.environ.get("REDIS_URL", ""),
       "CHANNEL_PACING": "true" if args.real_limits else "false"}
if database_url:
    import psycopg

    admin_url = urlunparse(urlparse(database_url)._replace(path="/postgres"))  # the bench database is made from here
    bench_db = f"bench_{urlparse(database_url).path.lstrip('/')}_bulk_channel"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{bench_db}"')
        conn.execute(f'CREATE DATABASE "{bench_db}"')
    env["DATABASE_URL"] = urlunparse(urlparse(database_url)._replace(path=f"/{bench_db}"))
else:
    env["DATABASE_URL"] = f"sqlite:///{work / 'db.sqlite3'}"
for folder in ("queue", "processed"):
    (work / "broker" / folder).mkdir(parents=True)
os.environ.update(env)
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
python = sys.executable
subprocess.run([python, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=env, check=True)

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402

from orders.models import BulkJob, ChannelAction, Order  # noqa: E402
from orders.services.importing import account_import_orders  # noqa: E402
from tests.factories import ChannelAccountFactory  # noqa: E402

with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
url = f"http://127.0.0.1:{port}"
processes = [subprocess.Popen([python, "manage.py", "sandbox", "--port", str(port), "--seed-orders", "0",
                               "--new-orders-every", "0", *([] if args.real_limits else ["--no-rate-limits"])],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL)]
try:
    for _ in range(200):
        try:
            requests.post(f"{url}/_sandbox/walmart/orders", json={"count": args.orders, "lines": 1},
                          timeout=300).raise_for_status()
            break
        except requests.ConnectionError:
            time.sleep(0.1)
    account = ChannelAccountFactory(base_url=url, create_store_order=False, auto_invoice=False)
    account_import_orders(account_id=account.pk)
    assert Order.objects.count() == args.orders, Order.objects.count()
    celery = [python, "-m", "celery", "-A", "config", "worker", "--loglevel=WARNING", "--without-gossip",
              "--without-mingle"]
    processes.append(subprocess.Popen([*celery, "--hostname=actions@bench", "--queues=celery", "--concurrency=2"],
                                      cwd=ROOT, env=env))
    processes.append(subprocess.Popen([*celery, "--hostname=long@bench", "--queues=long", "--concurrency=1"],
                                      cwd=ROOT, env=env))
    time.sleep(8)  # workers up

    load_before = os.getloadavg()[0]
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("bench", "b@example.com", "bench-password-1"))
    started = time.perf_counter()
    response = client.post(reverse("admin:orders_order_changelist"), {
        "action": "acknowledge_action", "select_across": "1", "index": "0",
        "_selected_action": [str(Order.objects.first().pk)], "confirm_action": "yes",
    })
    returned = time.perf_counter() - started
    assert response.status_code == 302, response.status_code
    job = BulkJob.objects.get()
    queued_at, done_when_queued = None, 0
    while time.perf_counter() - started < args.timeout:
        job.refresh_from_db()
        if queued_at is None and job.processed == job.total:
            queued_at = time.perf_counter() - started
            done_when_queued = ChannelAction.objects.filter(bulk_job=job, state=ChannelAction.State.SUCCEEDED).count()
        if job.state in BulkJob.SETTLED_STATES:
            break
        time.sleep(0.2)
    elapsed = time.perf_counter() - started
    succeeded = ChannelAction.objects.filter(bulk_job=job, state=ChannelAction.State.SUCCEEDED).count()
    failed = ChannelAction.objects.filter(bulk_job=job, state=ChannelAction.State.FAILED).count()
    print(f"machine: {platform.node()} {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{connection.vendor}, broker {'redis' if env['CELERY_BROKER_URL'] else 'filesystem'}; load average "
          f"before {load_before:.1f}, now {os.getloadavg()[0]:.1f} (other work on the machine)")
    print(f"Acknowledge on {job.total:,} orders (select all): page returned in {returned * 1000:.0f} ms; "
          f"all queued after {queued_at or float('nan'):.1f}s ({done_when_queued:,} done on the channel by then); job {job.get_state_display()} after {elapsed:.1f}s: "
          f"{succeeded:,} acknowledged on the channel ({succeeded / elapsed:.0f}/s), {failed:,} failed")
finally:
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait(timeout=30)
    connection.close()
    if database_url:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{bench_db}" WITH (FORCE)')
    shutil.rmtree(work, ignore_errors=True)
