"""An interrupted import finishes its work (issue 8 §3, SPEC §9 "worker killed ... database
connection dropped: no order is lost or duplicated").

A real Celery worker imports 2,000 Walmart orders with the account options on (store order +
acknowledge + invoice). It is SIGKILLed mid-run — or, separately, its database connections are
terminated. Every order it stored already has its store order (the options are written with the
page), and after a restart and the next import every order has one, and exactly one
acknowledgement per order reached the sandbox."""

import time
from collections import Counter

import pytest
from django.db import connection

from channels.models import ChannelAccount
from orders.models import ChannelAction, Order
from orders.tasks import import_account_orders, sweep_channel_actions
from tests.e2e.conftest import end_other_sessions, purge_queues, start_celery_worker, stop_celery_worker
from tests.helpers import wait_for

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True),
]
ORDERS = 2000
LEASE = "2"  # seconds: a killed worker's in-flight acknowledgement is taken over quickly


def stored() -> int:
    return Order.objects.count()


def finish_after_restart(sandbox, account: ChannelAccount, pos: list[str]) -> None:
    worker = start_celery_worker(CHANNEL_ACTION_LEASE_SECONDS=LEASE)
    try:
        import_account_orders.delay(account.pk, True)  # the next run (beat's next tick)
        wait_for(lambda: stored() == ORDERS, timeout=300, what="every order imported")

        swept = [0.0]

        def settled() -> bool:
            if time.monotonic() - swept[0] > 3:  # beat's safety net: takes over the dead worker's claims
                sweep_channel_actions.delay()
                swept[0] = time.monotonic()
            return not ChannelAction.objects.exclude(state=ChannelAction.State.SUCCEEDED).exists()

        wait_for(settled, timeout=400, what=lambda: "every acknowledgement carried out; still: " + str(Counter(
            ChannelAction.objects.exclude(state=ChannelAction.State.SUCCEEDED).values_list("state", "last_error"))))
    finally:
        stop_celery_worker(worker)
        end_other_sessions()
    assert not Order.objects.filter(store_order_number__isnull=True).exists()
    assert Order.objects.filter(invoice__isnull=False).count() == ORDERS
    acknowledged = Counter(request.path.split("/")[3] for request in
                           sandbox.requests.all(method="POST", path="/acknowledge$"))
    assert set(acknowledged) == set(pos) and set(acknowledged.values()) == {1}
    assert all(sandbox.walmart.orders[po].acknowledged for po in pos)
    assert ChannelAccount.objects.get(pk=account.pk).last_import_error == ""


def test_a_worker_killed_mid_import_leaves_no_order_without_its_store_order(sandbox, wm_account):
    pos = sandbox.walmart.create_orders(count=ORDERS, lines=2)
    purge_queues()
    worker = start_celery_worker(CHANNEL_ACTION_LEASE_SECONDS=LEASE)
    try:
        import_account_orders.delay(wm_account.pk, True)
        wait_for(lambda: stored() >= 400, timeout=120, what="the first pages imported")
    finally:
        stop_celery_worker(worker, kill=True)
        end_other_sessions()
    interrupted_at = stored()
    assert interrupted_at < ORDERS, "the import finished before it could be interrupted"
    assert not Order.objects.filter(store_order_number__isnull=True).exists()

    finish_after_restart(sandbox, wm_account, pos)


def test_a_dropped_database_connection_mid_import_leaves_no_order_behind(sandbox, wm_account):
    pos = sandbox.walmart.create_orders(count=ORDERS, lines=2)
    purge_queues()
    worker = start_celery_worker(CHANNEL_ACTION_LEASE_SECONDS=LEASE)
    try:
        import_account_orders.delay(wm_account.pk, True)
        wait_for(lambda: stored() >= 400, timeout=120, what="the first pages imported")
        end_other_sessions()  # pg_terminate_backend of the worker's connections, the import's among them
        wait_for(lambda: ChannelAccount.objects.get(pk=wm_account.pk).last_import_error, timeout=60,
                 what="the failure recorded on the account")
    finally:
        stop_celery_worker(worker)
        end_other_sessions()
    assert stored() < ORDERS
    # PostgreSQL's words depend on where the backend was when it was ended: either says the run lost its connection.
    error = ChannelAccount.objects.get(pk=wm_account.pk).last_import_error.lower()
    assert "terminat" in error or "server closed the connection unexpectedly" in error, error
    assert not Order.objects.filter(store_order_number__isnull=True).exists()

    finish_after_restart(sandbox, wm_account, pos)
    with connection.cursor() as cursor:  # the run that completed cleared the failure
        cursor.execute("SELECT import_failing_since FROM channels_channelaccount WHERE id = %s", [wm_account.pk])
        assert cursor.fetchone()[0] is None
