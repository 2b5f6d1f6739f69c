"""The web survives its broker (issue 11 §5): with Redis down, a background bulk job, "Import orders
now" and Order Reimport save their work and answer the page; once Redis is back the sweep hands
over what was never delivered. The test runs its own redis-server on a free port and stops it."""

import base64
import datetime as dt
import inspect
import json
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from kombu import pools as kombu_pools

from config.celery import app as celery_app
from orders import actions
from orders.handoff import sweep_handoffs
from orders.models import BulkJob, OrderStatus, TaskHandoff
from orders.schedules import IMPORT_TASK, import_task_name, sync_import_schedules
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


def test_run_selected_periodic_tasks_with_redis_down_is_saved_and_swept(broker, client, django_user_model, wm_account,
                                                                       django_capture_on_commit_callbacks):
    """django-celery-beat's own action published straight to the broker: a 500, and nothing kept."""
    from django.contrib.auth.models import Group

    account_admin = django_user_model.objects.create_user("schedules", is_staff=True)
    account_admin.groups.add(Group.objects.get(name="Account admin"))
    client.force_login(account_admin)
    sync_import_schedules()
    schedule = PeriodicTask.objects.get(name=import_task_name(wm_account.pk))
    keyword = PeriodicTask.objects.create(name="with keywords", task=IMPORT_TASK, interval=schedule.interval,
                                          kwargs=json.dumps({"account_id": wm_account.pk}))
    broker.stop()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:django_celery_beat_periodictask_changelist"), {
            "action": "run_tasks", "_selected_action": [schedule.pk, keyword.pk], "index": 0}, follow=True)

    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    assert shown == ["1 task(s) queued to run now. Not run now (keyword arguments or their own queue, which only "
                     "their schedule sends): with keywords."]
    handoff = TaskHandoff.objects.get()
    assert (handoff.task, handoff.args, handoff.sent_at) == (IMPORT_TASK, [wm_account.pk], None)

    broker.start()
    assert sweep_handoffs(grace=dt.timedelta(0)) == 1
    assert _queued_tasks(broker.port) == [(IMPORT_TASK, [wm_account.pk])]


class SilentBroker:
    """A port that takes no connection (`accepts_nothing`: its one-place backlog is already full,
    so a connect waits for ever) or takes it and never answers: a broker host that does not answer."""

    def __init__(self, *, accepts_nothing: bool) -> None:
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(0 if accepts_nothing else 8)
        self.port = self.server.getsockname()[1]
        self.queued = []
        if accepts_nothing:
            filler = socket.create_connection(("127.0.0.1", self.port))
            self.queued.append(filler)
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def close(self) -> None:
        for sock in (*self.queued, self.server):
            sock.close()


# Test-sized timeouts; the settings' defaults (2 s connect, 5 s socket, 1 retry) bound the same way.
QUICK_TIMEOUTS = {"socket_connect_timeout": 0.3, "socket_timeout": 0.3}


@pytest.mark.parametrize("accepts_nothing", [True, False], ids=["accepts-nothing", "answers-nothing"])
def test_a_broker_host_that_does_not_answer_holds_the_page_only_as_long_as_the_timeouts(
        operator_client, operator, wm_account, django_capture_on_commit_callbacks, accepts_nothing):
    """Without connect and socket timeouts kombu waits for the kernel (minutes) or for ever."""
    from django.contrib.auth.models import Group

    operator.groups.add(Group.objects.get(name="Operator"))
    silent = SilentBroker(accepts_nothing=accepts_nothing)
    options = celery_app.conf.broker_transport_options
    # The prefixed name, as settings give it: it wins over broker_transport_options.
    celery_app.conf.CELERY_BROKER_TRANSPORT_OPTIONS = {**options, **QUICK_TIMEOUTS}
    _point_celery_at(silent.url)
    try:
        started = time.monotonic()
        with django_capture_on_commit_callbacks(execute=True):
            response = operator_client.post(reverse("admin:channels_channelaccount_changelist"), {
                "action": "import_now", "_selected_action": [wm_account.pk], "index": 0})
        waited = time.monotonic() - started
    finally:
        celery_app.conf.CELERY_BROKER_TRANSPORT_OPTIONS = options
        _point_celery_at(None)
        silent.close()
    assert response.status_code == 302
    handoff = TaskHandoff.objects.get()
    assert handoff.sent_at is None and "Timeout" in handoff.last_error
    policy = celery_app.conf.task_publish_retry_policy
    bound = (1 + policy["max_retries"]) * (sum(QUICK_TIMEOUTS.values()) + policy["interval_max"])
    assert waited < bound + 2, f"the page waited {waited:.1f} s on a silent broker (bound {bound:.1f} s)"


def test_publishing_is_bounded_by_the_settings(settings):
    options = celery_app.conf.broker_transport_options
    assert options["socket_connect_timeout"] == settings.CELERY_BROKER_CONNECT_TIMEOUT == 2.0
    assert options["socket_timeout"] == settings.CELERY_BROKER_SOCKET_TIMEOUT == 5.0
    assert celery_app.conf.task_publish_retry_policy["max_retries"] == 1


HANDOFF_CALL = re.compile(r"\.(delay|apply_async|send_task)\(")


def _publishing_admin_code(model_admins, *, superuser) -> list[str]:
    """Admin classes (ours or a library's) and admin actions whose code publishes to Celery itself."""
    superuser_request = RequestFactory().get("/admin/")
    superuser_request.user = superuser
    offenders = []
    for model_admin in model_admins:
        # Every method the admin class really uses (an override hides what it replaces), but Django's own.
        for name, method in inspect.getmembers(type(model_admin), inspect.isfunction):
            if method.__module__.startswith("django.contrib.admin"):
                continue
            if HANDOFF_CALL.search(inspect.getsource(inspect.unwrap(method))):
                offenders.append(f"{type(model_admin).__name__}.{name}")
        for function, name, _label in model_admin.get_actions(superuser_request).values():
            if HANDOFF_CALL.search(inspect.getsource(inspect.unwrap(function))):
                offenders.append(f"{type(model_admin).__name__} action {name}")
    return sorted(set(offenders))


def test_no_admin_page_or_action_on_our_site_publishes_to_celery_itself(admin_user):
    """Third-party admins too: django-celery-beat's "Run selected tasks" called apply_async."""
    assert _publishing_admin_code(admin.site._registry.values(), superuser=admin_user) == []
    # The check does catch one that does: the library's own periodic task admin.
    from django_celery_beat.admin import PeriodicTaskAdmin

    library_admin = PeriodicTaskAdmin(PeriodicTask, admin.site)
    assert _publishing_admin_code([library_admin], superuser=admin_user) == [
        "PeriodicTaskAdmin action run_tasks", "PeriodicTaskAdmin.run_tasks"]


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
