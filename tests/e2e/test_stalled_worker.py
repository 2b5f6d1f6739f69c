"""Issue 9 §1, fencing (R-REL-2): a real worker process SIGSTOPped past its lease between its claim
and the refund's answer. Another worker takes the action over; the stalled one, resumed, never
sends and never overwrites the other's record: exactly one refund reaches the sandbox."""

import os
import signal
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection, transaction

from creditmemos.models import CreditMemo
from creditmemos.services import credit_memo_create, credit_memo_defaults
from orders import outbox
from orders.bulk import run_for_each_order
from orders.models import ChannelAction, Order
from orders.services.acknowledge import order_acknowledge
from orders.services.importing import account_import_orders
from orders.services.shipments import Tracking, order_ship
from tests.helpers import drain_actions, ups_tracking, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
LEASE_SECONDS = 2


def start_worker() -> subprocess.Popen:
    db = connection.settings_dict
    env = {**os.environ, "CHANNEL_ACTION_LEASE_SECONDS": str(LEASE_SECONDS), "CELERY_BROKER_URL": "memory://",
           "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"}
    return subprocess.Popen([sys.executable, "manage.py", "process_channel_actions"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("stalled_at", ["before the send", "during the send"])
def test_a_worker_stalled_past_its_lease_never_sends_nor_writes(sandbox, wm_account, stalled_at):
    [po] = sandbox.walmart.create_orders(count=1, qty=2, price="10.00")
    account_import_orders(account_id=wm_account.pk)
    order = Order.objects.get(channel_order_id=po)
    order_ship(order_id=order.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking()))
    drain_actions()
    sandbox.requests.clear()
    # The slowed request holds the worker where it is stopped: the read of the channel's figures
    # before the refund is sent, or the refund itself (Walmart applies it, then answers late).
    slowed = (rf"^/v3/orders/{po}$", "GET") if stalled_at == "before the send" else ("/refund$", "POST")
    sandbox.faults.add(kind="timeout", path=slowed[0], method=slowed[1], delay=1.0)
    memo = credit_memo_create(order_id=order.pk, memo=credit_memo_defaults(order_id=order.pk))
    action = memo.channel_actions.get()

    stalled = start_worker()
    try:
        wait_for(lambda: sandbox.requests.all(method=slowed[1], path=slowed[0]), what="the worker's call")
        stalled.send_signal(signal.SIGSTOP)
        time.sleep(LEASE_SECONDS + 0.5)  # past its lease
        assert outbox.recover_expired_leases() == 1
        taken_over = outbox.process_action(action_id=action.pk)
        assert taken_over.state == ChannelAction.State.SUCCEEDED
        stalled.send_signal(signal.SIGCONT)
        out, err = stalled.communicate(timeout=30)
    finally:
        if stalled.poll() is None:
            stalled.send_signal(signal.SIGCONT)
            stalled.kill()

    refunds = sandbox.requests.all(method="POST", path="/refund$")
    assert len(refunds) == 1 and len(sandbox.walmart.orders[po].lines[0].refunds) == 1
    assert -sandbox.walmart.orders[po].lines[0].refunded == Decimal("23.60")  # 20.00 + 1.60 tax + 2.00 shipping
    assert f"action {action.pk}: stale" in out
    assert "claim expired and was taken over; backing off" in err
    action.refresh_from_db()
    assert action.state == ChannelAction.State.SUCCEEDED and action.attempts == 2  # not overwritten by the stale one
    assert order.logs.filter(message__contains="refund: done on Walmart").count() == 1
    memo.refresh_from_db()
    assert memo.state == CreditMemo.State.DONE and memo.grand_total == Decimal("23.60")


def run_while_the_sweeper_recovers(work):
    """Run `work` in a worker thread while the sweeper takes over expired leases; (what it returned,
    how many actions the sweeper took over meanwhile)."""
    result = []
    worker = threading.Thread(target=lambda: (result.append(work()), connection.close()))
    worker.start()
    taken_over = 0
    while worker.is_alive():
        taken_over += outbox.recover_expired_leases()
        time.sleep(0.1)
    worker.join()
    return result[0], taken_over


def test_a_long_channel_call_keeps_its_lease(sandbox, wm_account, settings):
    """A refund whose answer takes three leases: the worker renews its lease while it waits, so
    the sweeper never hands the action to another worker."""
    settings.CHANNEL_ACTION_LEASE_SECONDS = 1
    [po] = sandbox.walmart.create_orders(count=1, qty=1, price="10.00")
    account_import_orders(account_id=wm_account.pk)
    order = Order.objects.get(channel_order_id=po)
    order_ship(order_id=order.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking()))
    drain_actions()
    sandbox.faults.add(kind="timeout", path="/refund$", method="POST", delay=3.0)
    memo = credit_memo_create(order_id=order.pk, memo=credit_memo_defaults(order_id=order.pk))
    action = memo.channel_actions.get()

    outcome, taken_over = run_while_the_sweeper_recovers(lambda: outbox.process_action(action_id=action.pk))

    assert taken_over == 0
    assert outcome.state == ChannelAction.State.SUCCEEDED
    assert len(sandbox.requests.all(method="POST", path="/refund$")) == 1
    memo.refresh_from_db()
    assert memo.state == CreditMemo.State.DONE


def test_a_drains_batch_keeps_the_leases_of_all_its_actions(sandbox, wm_account, settings):
    """Three acknowledgements claimed together, each answered slowly: the batch's calls take twice a
    lease, yet none is handed to another worker — the first ones' leases are kept until their
    confirmations are recorded, the last ones' while they wait their turn."""
    settings.CHANNEL_ACTION_LEASE_SECONDS = 1
    wm_account.create_store_order = False
    wm_account.save()
    sandbox.walmart.create_orders(count=3)
    account_import_orders(account_id=wm_account.pk)
    with transaction.atomic():
        run_for_each_order(order_ids=list(Order.objects.values_list("pk", flat=True)), action=order_acknowledge)
    sandbox.faults.add(kind="timeout", path="/acknowledge$", method="POST", delay=0.7, count=3)
    batch = outbox.claim_many(limit=3)
    assert len(batch) == 3

    outcomes, taken_over = run_while_the_sweeper_recovers(lambda: outbox._run_many(batch))

    assert taken_over == 0
    assert [outcome.state for outcome in outcomes] == [ChannelAction.State.SUCCEEDED] * 3
    assert len(sandbox.requests.all(method="POST", path="/acknowledge$")) == 3
