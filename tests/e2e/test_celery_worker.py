"""End to end with a real Celery worker on Redis and PostgreSQL: beat-style import task, automatic
acknowledge, an operator's shipment pushed as soon as its transaction commits (R-SYNC-4)."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction

from config.celery import app as celery_app
from orders.models import Order
from orders.services.shipments import Tracking, order_ship
from orders.tasks import import_account_orders
from tests.helpers import ups_tracking

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True),
]
ROOT = Path(__file__).resolve().parents[2]


def wait_for(condition, *, timeout: float = 30.0, what: str = "") -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if condition():
            return time.monotonic() - started
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def worker():
    if not settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.fail("the real-worker test needs CELERY_BROKER_URL (or REDIS_URL) pointing at Redis") if os.environ.get(
            "CI") else pytest.skip("needs Redis as the Celery broker")
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
    }
    celery_app.control.purge()  # the default queue; the long one is drained below
    with celery_app.connection_for_write() as conn:
        conn.default_channel.queue_purge("long")
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=prefork", "--concurrency=2",
         "--queues=celery,long", "--loglevel=WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    yield process
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    with connection.cursor() as cursor:  # the worker's children may still hold sessions on the test database
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()")


def test_end_to_end_import_acknowledge_and_ship_through_a_real_worker(sandbox, wm_account, worker):
    [po] = sandbox.walmart.create_orders(count=1, qty=2)

    import_account_orders.delay(wm_account.pk)
    wait_for(lambda: sandbox.walmart.orders[po].acknowledged, what="the automatic acknowledge")

    order = Order.objects.get(channel_order_id=po)
    assert order.store_order_number
    with transaction.atomic():
        order_ship(order_id=order.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(3)))
    latency = wait_for(lambda: sandbox.walmart.orders[po].lines[0].shipped == 2, what="the shipment on Walmart")
    print(f"commit → sandbox received the shipment: {latency * 1000:.0f} ms")
    wait_for(lambda: Order.objects.get(pk=order.pk).sync_state == "ok", what="the outcome in the Order Log")
    messages = list(order.logs.values_list("message", flat=True))
    assert any(m.startswith(f"Ship (UPS {ups_tracking(3)}): done on Walmart") for m in messages), messages
    assert len(sandbox.requests.all(method="POST", path="/shipping$")) == 1
