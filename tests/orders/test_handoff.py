"""The web survives its broker (issue 11 §5): with Redis down, a background bulk job, "Import orders
now" and Order Reimport save their work and answer the page; once Redis is back the sweep hands
over what was never delivered. The test runs its own redis-server on a free port and stops it."""

import base64
import datetime as dt
import json
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis
from kombu import pools as kombu_pools
from django.urls import reverse
from django.utils import timezone

from config.celery import app as celery_app
from orders import actions
from orders.handoff import sweep_handoffs
from orders.models import BulkJob, OrderStatus, TaskHandoff
from tests.conftest import _unavailable
from tests.factories import create_order

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
REDIS_SERVER = shutil.which("redis-server")


class PrivateRedis:
    """A redis-server of the test's own, on a free port, that the test can stop and start again."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.process: subprocess.Popen | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def _point_celery_at(url: str | None) -> None:
    """Publish to `url` from now on (None: back to the configured broker). The write URL, because
    the CELERY_BROKER_URL environment variable overrides broker_url. Kombu keeps its connection
    pools in a registry keyed by URL: reset it, or the next test gets a closed pool back."""
    celery_app.conf.broker_write_url = url
    kombu_pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def broker():
    if not REDIS_SERVER:
        _unavailable("needs redis-server on PATH")
    server = PrivateRedis()
    server.start()
    _point_celery_at(server.url)
    yield server
    server.stop()
    _point_celery_at(None)


def _queued_tasks(port: int) -> list[tuple[str, list]]:
    """(task name, args) of every message waiting in the `long` queue of that Redis."""
    tasks = []
    for raw in redis.Redis(port=port).lrange("long", 0, -1):
        message = json.loads(raw)
        args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        tasks.append((message["headers"]["task"], args))
    return sorted(tasks)


def test_with_redis_down_the_pages_answer_and_the_sweep_delivers_once_it_is_back(
        broker, operator_client, operator, wm_account, monkeypatch, django_capture_on_commit_callbacks):
    from django.contrib.auth.models import Group

    operator.groups.add(Group.objects.get(name="Operator"))
    monkeypatch.setattr(actions, "INLINE_LIMIT", 2)  # any selection above it runs as a background job
    orders = [create_order(account=wm_account, status=OrderStatus.CREATED) for _ in range(3)]
    broker.stop()

    with django_capture_on_commit_callbacks(execute=True):
        bulk = operator_client.post(reverse("admin:orders_order_changelist"), {
            "action": "create_store_order_action", "_selected_action": [o.pk for o in orders], "index": 0,
            "confirm_action": "yes"})
    with django_capture_on_commit_callbacks(execute=True):
        import_now = operator_client.post(reverse("admin:channels_channelaccount_changelist"), {
            "action": "import_now", "_selected_action": [wm_account.pk], "index": 0})
    today = timezone.localdate()
    with django_capture_on_commit_callbacks(execute=True):
        reimport = operator_client.post(reverse("admin:channels_channelaccount_reimport", args=[wm_account.pk]), {
            "created_from": today - dt.timedelta(days=3), "created_to": today})

    assert (bulk.status_code, import_now.status_code, reimport.status_code) == (302, 302, 302)
    job = BulkJob.objects.get()
    assert job.state == BulkJob.State.QUEUED and job.total == 3
    unsent = TaskHandoff.objects.filter(sent_at__isnull=True)
    assert unsent.count() == 3 and all(h.attempts == 1 and h.last_error for h in unsent)
    assert sweep_handoffs(grace=dt.timedelta(0)) == 0  # still down: nothing lost, nothing raised

    broker.start()
    assert _queued_tasks(broker.port) == []
    assert sweep_handoffs(grace=dt.timedelta(0)) == 3

    assert not TaskHandoff.objects.filter(sent_at__isnull=True).exists()
    start, end = TaskHandoff.objects.get(task="orders.tasks.reimport_account_orders").args[1:]
    assert _queued_tasks(broker.port) == sorted([
        ("orders.tasks.run_bulk_job", [job.pk]),
        ("orders.tasks.import_account_orders", [wm_account.pk, True]),
        ("orders.tasks.reimport_account_orders", [wm_account.pk, start, end]),
    ])
    assert sweep_handoffs(grace=dt.timedelta(0)) == 0  # delivered once, not again


def test_a_recent_handoff_is_left_to_its_own_request(db):
    """The sweep leaves a hand-off younger than its grace alone: its request's on_commit is sending it."""
    TaskHandoff.objects.create(task="orders.tasks.import_account_orders", args=[1])
    assert sweep_handoffs() == 0


HANDOFF_CALL = re.compile(r"\.(delay|apply_async|send_task)\(")


def test_every_handoff_to_celery_goes_through_the_handoff_or_the_outbox():
    """A new `.delay()` elsewhere would 500 (or lose work) with the broker down."""
    allowed = {ROOT / "orders" / "handoff.py", ROOT / "orders" / "outbox.py"}
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for package in ("orders", "channels", "creditmemos", "access", "config")
        for path in sorted((ROOT / package).rglob("*.py"))
        if path not in allowed and "migrations" not in path.parts
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if HANDOFF_CALL.search(line)
    ]
    assert not offenders, f"hand work to Celery with orders.handoff.hand_off: {offenders}"
