"""The outbox's contract in detail (orders/outbox.py; R-SYNC-3/4, R-REL-2), with the sandbox: what an
action records when queued, who it is handed to, what each outcome writes and logs, which action a
worker takes, fencing of a worker that lost its claim, the sweep, and Retry Failed Sync. Written
against the mutants `make mutation` found unguarded; each test runs on SQLite and PostgreSQL."""

import datetime as dt
from decimal import Decimal

import pytest
from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from creditmemos.models import CreditMemo
from creditmemos.services import credit_memo_create, credit_memo_defaults
from orders import outbox
from orders.batching import batched_channel_actions
from orders.models import ChannelAction, Order, OrderLog, Shipment, SyncState
from orders.services.acknowledge import order_acknowledge
from orders.services.cancel import order_cancel
from orders.services.errors import OrderActionRefused
from orders.services.importing import account_import_orders
from orders.services.shipments import Tracking, order_ship
from orders.tasks import sweep_channel_actions
from tests.factories import BulkJobFactory, create_order
from tests.helpers import drain_actions, ups_tracking, wait_until_due
from tests.orders.test_shipping_paths import walmart_order

pytestmark = pytest.mark.django_db
State = ChannelAction.State
UPS = Tracking(carrier="UPS", tracking_number=ups_tracking(5))
PROCESS = "orders.tasks.process_channel_action"
DRAIN = "orders.tasks.drain_channel_actions"


def handed_to_workers() -> list[tuple[str, list, bool]]:
    """(task, args, delayed) of every message waiting for a worker on the broker's default queue,
    taken off it (the tests run no worker)."""
    messages = []
    with current_app.connection_for_read() as connection, connection.SimpleQueue("celery", no_ack=True) as queue:
        while True:
            try:
                message = queue.get_nowait()
            except queue.Empty:
                return messages
            messages.append((message.headers["task"], message.payload[0], message.headers.get("eta") is not None))


@pytest.fixture
def broker_queue():
    handed_to_workers()  # what earlier tests left
    yield
    handed_to_workers()


def log_lines(order: Order) -> list[tuple[str, str]]:
    return list(OrderLog.objects.filter(order=order).order_by("pk").values_list("type", "message"))


def shipped_walmart_order(sandbox, account, **create) -> Order:
    order = walmart_order(sandbox, account, **create)
    order_ship(order_id=order.pk, tracking=UPS)
    drain_actions()
    sandbox.requests.clear()
    return Order.objects.get(pk=order.pk)


# -- queuing ------------------------------------------------------------------------------------------

def test_a_queued_action_records_who_and_what_is_logged_and_is_handed_to_a_worker(
        sandbox, wm_account, operator, broker_queue, settings, django_capture_on_commit_callbacks):
    settings.CHANNEL_ACTION_MAX_ATTEMPTS = 3
    order = walmart_order(sandbox, wm_account)

    with django_capture_on_commit_callbacks(execute=True):
        order_acknowledge(order_id=order.pk, user=operator)

    action = ChannelAction.objects.get(order=order)
    assert (action.kind, action.description, action.payload, action.state, action.attempts, action.max_attempts,
            action.account_id, action.created_by, action.bulk_job_id, action.needs_verification) == (
        "acknowledge", "Acknowledge", {}, State.PENDING, 0, 3, wm_account.pk, operator, None, False)
    assert action.next_attempt_at <= timezone.now()
    queued = OrderLog.objects.get(order=order, message="Acknowledge: queued for Walmart.")
    assert (queued.user, queued.initiator) == (operator, OrderLog.Initiator.USER)
    assert Order.objects.get(pk=order.pk).sync_state == SyncState.PENDING
    assert handed_to_workers() == [(PROCESS, [action.pk], False)]


@pytest.mark.django_db(transaction=True)
def test_an_action_is_queued_only_inside_the_transaction_of_its_change(walmart_account):
    order = create_order(account=walmart_account)
    with pytest.raises(RuntimeError, match=r"^enqueue_actions\(\) must run inside the transaction of the local "
                                           r"change$"):
        outbox.enqueue_action(order=order, kind=ChannelAction.Kind.ACKNOWLEDGE, description="Acknowledge")
    assert not ChannelAction.objects.exists()


def test_actions_queued_in_a_bulk_batch_belong_to_its_job_and_go_to_drains(
        sandbox, wm_account, broker_queue, settings, django_capture_on_commit_callbacks):
    settings.CHANNEL_ACTION_DRAINS = 2
    sandbox.walmart.create_orders(count=2)
    wm_account.create_store_order = False
    wm_account.save()
    account_import_orders(account_id=wm_account.pk)
    job = BulkJobFactory()

    with (django_capture_on_commit_callbacks(execute=True), transaction.atomic(),
          batched_channel_actions(bulk_job_id=job.pk) as batch):
        for order in Order.objects.all():
            order_acknowledge(order_id=order.pk)

    assert batch.queued == 2
    assert list(ChannelAction.objects.values_list("bulk_job_id", flat=True)) == [job.pk, job.pk]
    assert handed_to_workers() == [(DRAIN, [], False)] * 2


# -- which action a worker takes ------------------------------------------------------------------

def test_a_worker_asked_for_one_action_carries_out_that_one(sandbox, wm_account):
    sandbox.walmart.create_orders(count=2)
    wm_account.create_store_order = False
    wm_account.save()
    account_import_orders(account_id=wm_account.pk)
    first, second = Order.objects.order_by("pk")
    order_acknowledge(order_id=first.pk)
    order_acknowledge(order_id=second.pk)
    older, asked = ChannelAction.objects.order_by("pk")

    outcome = outbox.process_action(action_id=asked.pk)

    assert outcome == outbox.Outcome(asked.pk, State.SUCCEEDED)
    assert ChannelAction.objects.get(pk=older.pk).state == State.PENDING
    assert [po.acknowledged for po in sandbox.walmart.orders.values()] == [False, True]
    assert outbox.process_action(action_id=asked.pk) is None  # done: nothing to take


def test_process_due_actions_stops_at_its_limit(sandbox, wm_account):
    sandbox.walmart.create_orders(count=2)
    wm_account.create_store_order = False
    wm_account.save()
    account_import_orders(account_id=wm_account.pk)
    for order in Order.objects.order_by("pk"):
        order_acknowledge(order_id=order.pk)

    assert [o.state for o in outbox.process_due_actions(limit=1)] == [State.SUCCEEDED]
    assert ChannelAction.objects.filter(state=State.PENDING).count() == 1


def amazon_refunds_submitted(sandbox, az_account, *, count: int = 1) -> list[tuple[Order, ChannelAction]]:
    """Shipped Amazon orders, each with a refund submitted as a feed (its report not read yet)."""
    order_ids = sandbox.amazon.create_orders(count=count, items=1, qty=1, price="20.00")
    account_import_orders(account_id=az_account.pk)
    orders = [Order.objects.get(channel_order_id=order_id) for order_id in order_ids]
    for order in orders:
        order_ship(order_id=order.pk, tracking=UPS)
    drain_actions()
    submitted = []
    for order in orders:
        memo = credit_memo_create(order_id=order.pk, memo=credit_memo_defaults(order_id=order.pk))
        action = memo.channel_actions.get()
        assert outbox.process_action(action_id=action.pk).state == State.SUBMITTED
        action.refresh_from_db()
        submitted.append((order, action))
    return submitted


def test_a_submission_is_read_by_the_worker_asked_for_it_and_its_refund_is_done(sandbox, az_account, operator):
    (_other_order, other), (order, action) = amazon_refunds_submitted(sandbox, az_account, count=2)
    wait_until_due(other)
    assert action.payload["feed"] is True and action.channel_reference
    assert (OrderLog.Type.NOTICE, (f"{action.description}: submitted to Amazon (feed {action.channel_reference}); "
            "waiting for its processing report.")) in log_lines(order)

    wait_until_due(action)
    outcome = outbox.process_action(action_id=action.pk)

    assert outcome == outbox.Outcome(action.pk, State.SUCCEEDED)
    assert ChannelAction.objects.get(pk=other.pk).state == State.SUBMITTED  # not the one asked for
    assert CreditMemo.objects.get(order=order).state == CreditMemo.State.DONE
    item = order.items.get()
    assert sandbox.amazon.orders[order.channel_order_id].items[0].refunded == item.refunded_amount > 0


def test_a_worker_asked_for_nothing_in_particular_reads_a_due_submission(sandbox, az_account):
    [(_order, action)] = amazon_refunds_submitted(sandbox, az_account)
    wait_until_due(action)
    assert outbox.process_action() == outbox.Outcome(action.pk, State.SUCCEEDED)


def test_claiming_a_submission_takes_that_one_once_and_leaves_the_others_due(sandbox, az_account, settings):
    (_, first), (_, second) = amazon_refunds_submitted(sandbox, az_account, count=2)
    wait_until_due(first), wait_until_due(second)
    settings.CHANNEL_FEED_POLL_SECONDS = 60  # a claim moves the submission's next read a minute on

    claimed = outbox.claim_poll(action_id=second.pk)

    assert claimed.pk == second.pk and claimed.claim_token
    assert outbox.claim_poll(action_id=second.pk) is None  # moved to its next poll: no second reader
    assert outbox.claim_poll().pk == first.pk


def test_a_due_submission_is_read_however_many_finished_actions_are_older(sandbox, wm_account, az_account):
    sandbox.walmart.create_orders(count=6)
    wm_account.create_store_order = False
    wm_account.save()
    account_import_orders(account_id=wm_account.pk)
    for order in Order.objects.filter(channel="walmart"):
        order_acknowledge(order_id=order.pk)
    drain_actions()  # six acknowledges done, all due earlier than the submission
    [(_, submitted)] = amazon_refunds_submitted(sandbox, az_account)
    wait_until_due(submitted)

    assert outbox.process_action() == outbox.Outcome(submitted.pk, State.SUCCEEDED)


def test_each_answer_to_reading_a_submission_report(sandbox, az_account, settings, broker_queue):
    """Amazon sits on a cancel feed: still processing (read again later), a failed read (kept on the
    action, read again), and past CHANNEL_FEED_TIMEOUT_HOURS with the read still failing: failed."""
    [order_id] = sandbox.amazon.create_orders(count=1)
    account_import_orders(account_id=az_account.pk)
    order = Order.objects.get(channel_order_id=order_id)
    sandbox.amazon.processing_delay = 3600
    order_cancel(order_id=order.pk, reason="out_of_stock")
    action = ChannelAction.objects.get(order=order)
    assert outbox.process_action(action_id=action.pk).state == State.SUBMITTED
    handed_to_workers()

    wait_until_due(action)
    assert outbox.process_action(action_id=action.pk) == outbox.Outcome(action.pk, State.SUBMITTED, "processing")
    assert handed_to_workers() == [(PROCESS, [action.pk], True)]  # at its next poll

    sandbox.faults.add(kind="503", path="/feeds/2021-06-30/feeds/", method="GET", count=3)
    wait_until_due(action)
    outcome = outbox.process_action(action_id=action.pk)
    action.refresh_from_db()
    assert outcome == outbox.Outcome(action.pk, State.SUBMITTED, action.last_error.removeprefix("reading the outcome: "))
    assert "503" in outcome.detail and action.state == State.SUBMITTED

    settings.CHANNEL_FEED_TIMEOUT_HOURS = 0
    sandbox.faults.add(kind="503", path="/feeds/2021-06-30/feeds/", method="GET", count=3)
    wait_until_due(action)
    outcome = outbox.process_action(action_id=action.pk)
    action.refresh_from_db()
    assert outcome == outbox.Outcome(action.pk, State.FAILED, action.last_error)
    assert action.state == State.FAILED and action.last_error.startswith("no processing report after ")
    assert "; last read failed: " in action.last_error and "503" in action.last_error


def test_a_submission_the_channel_does_not_know_fails_with_its_answer(sandbox, az_account):
    [(_order, action)] = amazon_refunds_submitted(sandbox, az_account)
    ChannelAction.objects.filter(pk=action.pk).update(channel_reference="999999999")
    wait_until_due(action)

    outcome = outbox.process_action(action_id=action.pk)

    action.refresh_from_db()
    assert outcome == outbox.Outcome(action.pk, State.FAILED, action.last_error) and action.last_error
    assert action.state == State.FAILED and "999999999" not in sandbox.amazon.feeds


# -- outcomes ---------------------------------------------------------------------------------------

def test_a_failed_attempt_is_logged_and_handed_back_later_and_a_success_hands_over_the_next_action(
        sandbox, wm_account, fast_retries, broker_queue, django_capture_on_commit_callbacks):
    order = walmart_order(sandbox, wm_account)
    order_ship(order_id=order.pk, tracking=UPS)  # acknowledge first, then the shipment behind it
    acknowledge, ship = ChannelAction.objects.filter(order=order).order_by("pk")
    sandbox.faults.add(kind="500", path="/acknowledge$", count=1)
    handed_to_workers()

    assert outbox.process_action(action_id=acknowledge.pk) == outbox.Outcome(
        acknowledge.pk, State.PENDING, ChannelAction.objects.get(pk=acknowledge.pk).last_error)
    acknowledge.refresh_from_db()
    assert "HTTP 500" in acknowledge.last_error and acknowledge.claim_token is None
    assert log_lines(order)[-1] == (OrderLog.Type.WARNING, (f"Acknowledge: attempt 1 of 4 failed "
                                    f"({acknowledge.last_error}); trying again in 0s at the earliest."))
    assert handed_to_workers() == [(PROCESS, [acknowledge.pk], True)]  # later, after the backoff

    wait_until_due(acknowledge)
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox.process_action(action_id=acknowledge.pk) == outbox.Outcome(acknowledge.pk, State.SUCCEEDED)
    acknowledge.refresh_from_db()
    assert (acknowledge.last_error, acknowledge.channel_reference, acknowledge.lease_expires_at) == (
        "", order.channel_order_id, None)
    assert acknowledge.completed_at is not None
    done = OrderLog.objects.filter(order=order).latest("pk")
    assert (done.type, done.initiator, done.message) == (OrderLog.Type.SUCCESS, OrderLog.Initiator.CHANNEL,
                                                         "Acknowledge: done on Walmart.")
    assert handed_to_workers() == [(PROCESS, [ship.pk], False)]  # the shipment waited behind it

    assert outbox.process_action(action_id=ship.pk).state == State.SUCCEEDED
    assert Shipment.objects.get(order=order).sync_state == SyncState.OK
    assert Order.objects.get(pk=order.pk).sync_state == SyncState.OK


def test_a_refusal_fails_the_action_for_good_with_the_reason_in_the_log(sandbox, wm_account, fast_retries):
    """Walmart shipped the order on its own site: our cancel is refused (HTTP 400), not retried, and
    nothing needs verifying (nothing landed)."""
    order = walmart_order(sandbox, wm_account, qty=1, acknowledged=True)
    sandbox.walmart.channel_ship(order.channel_order_id)
    order_cancel(order_id=order.pk, reason="out_of_stock")
    action = ChannelAction.objects.get(order=order, kind="cancel")

    outcome = outbox.process_action(action_id=action.pk)

    action.refresh_from_db()
    assert outcome == outbox.Outcome(action.pk, State.FAILED, action.last_error)
    assert "SHIPPED status" in action.last_error
    assert (action.state, action.attempts, action.needs_verification, action.claim_token) == (
        State.FAILED, 1, False, None)
    assert log_lines(order)[-1] == (OrderLog.Type.ERROR, (f"{action.description}: failed after 1 attempt(s): "
                                    f"{action.last_error}. Use Retry Failed Sync once the cause is fixed."))
    order.refresh_from_db()
    assert (order.sync_state, order.sync_error) == (SyncState.ERROR, f"{action.description}: {action.last_error}")


def test_a_shipment_whose_sending_failed_shows_it(sandbox, wm_account, fast_retries):
    order = walmart_order(sandbox, wm_account, acknowledged=True)
    sandbox.faults.add(kind="500", path="/shipping$", count=10)
    order_ship(order_id=order.pk, tracking=UPS)
    drain_actions()
    assert ChannelAction.objects.get(order=order, kind="ship").state == State.FAILED
    assert Shipment.objects.get(order=order).sync_state == SyncState.ERROR


def test_a_last_attempt_that_may_have_landed_is_verified_on_retry_not_sent_again(sandbox, wm_account, settings,
                                                                                 operator):
    """One attempt allowed; the refund times out after Walmart applied it. The failure keeps
    'verify first', so Retry Failed Sync reads it back and records it, refunding once."""
    settings.CHANNEL_ACTION_MAX_ATTEMPTS = 1
    settings.CHANNEL_HTTP_READ_TIMEOUT = 0.5
    order = shipped_walmart_order(sandbox, wm_account, qty=1, price="10.00")
    sandbox.faults.add(kind="timeout", path="/refund$", method="POST", delay=1.0)
    memo = credit_memo_create(order_id=order.pk, memo=credit_memo_defaults(order_id=order.pk))
    action = memo.channel_actions.get()
    assert outbox.process_action(action_id=action.pk).state == State.FAILED
    action.refresh_from_db()
    assert action.needs_verification

    assert outbox.order_retry_failed_actions(order_id=order.pk, user=operator) == 1
    action.refresh_from_db()
    assert (action.state, action.attempts) == (State.PENDING, 0)
    drain_actions()

    assert len(sandbox.requests.all(method="POST", path="/refund$")) == 1
    assert len(sandbox.walmart.orders[order.channel_order_id].lines[0].refunds) == 1
    memo.refresh_from_db()
    assert memo.state == CreditMemo.State.DONE


def test_retry_failed_sync_retries_this_orders_failures_only_logs_who_and_hands_them_over(
        sandbox, wm_account, operator, fast_retries, broker_queue, django_capture_on_commit_callbacks):
    sandbox.walmart.create_orders(count=2, acknowledged=True)
    wm_account.create_store_order = False
    wm_account.save()
    account_import_orders(account_id=wm_account.pk)
    mine, other = Order.objects.order_by("pk")
    sandbox.faults.add(kind="500", path="/shipping$", count=20)
    for order in (mine, other):
        order_ship(order_id=order.pk, tracking=UPS)
    drain_actions()
    handed_to_workers()
    failed = ChannelAction.objects.get(order=mine, kind="ship")
    tried = failed.attempts

    with django_capture_on_commit_callbacks(execute=True):
        assert outbox.order_retry_failed_actions(order_id=mine.pk, user=operator) == 1

    failed.refresh_from_db()
    assert (failed.state, failed.attempts, failed.attempts_before_retry) == (State.PENDING, 0, tried)  # kept
    assert ChannelAction.objects.get(order=other, kind="ship").state == State.FAILED
    retried = OrderLog.objects.filter(order=mine).latest("pk")
    assert (retried.message, retried.user) == (f"{failed.description}: retry requested.", operator)
    assert handed_to_workers() == [(PROCESS, [failed.pk], False)]
    with pytest.raises(OrderActionRefused, match="^no failed channel action$"):
        outbox.order_retry_failed_actions(order_id=mine.pk)


def test_outcome_listeners_hear_each_outcome_once_however_often_registered(sandbox, wm_account):
    heard = []

    def listener(action):
        heard.append((action.pk, action.state))

    outbox.on_action_outcome(listener)
    outbox.on_action_outcome(listener)
    try:
        order = walmart_order(sandbox, wm_account)
        order_acknowledge(order_id=order.pk)
        drain_actions()
    finally:
        outbox._outcome_listeners.remove(listener)
    assert heard == [(ChannelAction.objects.get(order=order).pk, State.SUCCEEDED)]
    assert listener not in outbox._outcome_listeners


def test_a_crash_on_bad_data_fails_the_action_instead_of_leaving_it_in_flight(sandbox, wm_account):
    order = walmart_order(sandbox, wm_account, acknowledged=True)
    with transaction.atomic():
        action = outbox.enqueue_action(order=order, kind=ChannelAction.Kind.SHIP, description="Ship (bad data)",
                                       payload={"carrier": "UPS"})  # no lines

    assert outbox.process_action(action_id=action.pk) == outbox.Outcome(action.pk, State.FAILED,
                                                                        "internal error: KeyError")
    assert ChannelAction.objects.get(pk=action.pk).state == State.FAILED


# -- fencing and the sweep ---------------------------------------------------------------------------

def test_a_worker_whose_lease_was_taken_over_neither_sends_nor_writes(sandbox, wm_account):
    """Worker A claims the refund and stalls past its lease; the sweep hands it to worker B, which
    refunds; A, resumed, backs off: one refund, B's record intact (the SIGSTOP version with a real
    worker process is tests/e2e/test_stalled_worker.py, on PostgreSQL)."""
    order = shipped_walmart_order(sandbox, wm_account, qty=1, price="10.00")
    memo = credit_memo_create(order_id=order.pk, memo=credit_memo_defaults(order_id=order.pk))
    action = memo.channel_actions.get()
    stalled = outbox.claim(action_id=action.pk)
    assert (stalled.state, stalled.attempts) == (State.IN_FLIGHT, 1) and stalled.claim_token
    ChannelAction.objects.filter(pk=action.pk).update(lease_expires_at=timezone.now() - dt.timedelta(seconds=1))

    assert outbox.recover_expired_leases() == 1
    recovered = ChannelAction.objects.get(pk=action.pk)
    assert (recovered.state, recovered.needs_verification, recovered.claim_token) == (State.PENDING, True, None)
    assert outbox.process_action(action_id=action.pk).state == State.SUCCEEDED
    assert outbox._run_many([stalled]) == [outbox.Outcome(action.pk, outbox.STALE)]

    assert len(sandbox.requests.all(method="POST", path="/refund$")) == 1
    action.refresh_from_db()
    assert (action.state, action.attempts) == (State.SUCCEEDED, 2)
    assert order.logs.filter(message__contains="refund: done on Walmart").count() == 1
    memo.refresh_from_db()
    assert memo.state == CreditMemo.State.DONE
    assert memo.grand_total == -sandbox.walmart.orders[order.channel_order_id].lines[0].refunded == Decimal("12.80")


def test_a_reader_whose_claim_was_taken_over_records_nothing(sandbox, az_account, caplog):
    """Worker A claims a submission's report and stalls until it is due again; worker B reads it and
    records the refund done; A, resumed, backs off and says so."""
    [(order, action)] = amazon_refunds_submitted(sandbox, az_account)
    wait_until_due(action)
    stalled = outbox.claim_poll(action_id=action.pk)
    wait_until_due(action)
    assert outbox.process_action(action_id=action.pk) == outbox.Outcome(action.pk, State.SUCCEEDED)

    assert outbox._poll(stalled) == outbox.Outcome(action.pk, outbox.STALE)
    assert "backing off from recording the channel's confirmation without sending or writing" in caplog.text
    assert order.logs.filter(message__contains="refund: done on Amazon").count() == 1


def test_a_lease_still_running_is_not_taken_over(sandbox, wm_account):
    order = walmart_order(sandbox, wm_account)
    order_acknowledge(order_id=order.pk)
    action = outbox.claim()
    assert outbox.recover_expired_leases() == 0
    assert ChannelAction.objects.get(pk=action.pk).state == State.IN_FLIGHT


def test_the_sweep_hands_every_due_action_to_a_worker_and_nothing_else(sandbox, wm_account, az_account,
                                                                       broker_queue):
    """Due: two acknowledges, a submission whose report is due, and a ship once the acknowledge it
    waits behind is done. Not: one whose retry is later, one done, a submission read again later."""
    (_, submitted), (_, not_due) = amazon_refunds_submitted(sandbox, az_account, count=2)
    ChannelAction.objects.filter(pk=not_due.pk).update(next_attempt_at=timezone.now() + dt.timedelta(hours=1))
    sandbox.walmart.create_orders(count=4)
    wm_account.create_store_order = False
    wm_account.save()
    account_import_orders(account_id=wm_account.pk)
    due_order, other_due_order, later_order, done_order = Order.objects.filter(channel="walmart").order_by("pk")
    for order in (due_order, other_due_order, later_order, done_order):
        order_acknowledge(order_id=order.pk)
    order_ship(order_id=due_order.pk, tracking=UPS)  # waits behind the acknowledge
    ChannelAction.objects.filter(order=later_order).update(next_attempt_at=timezone.now() + dt.timedelta(hours=1))
    outbox.process_action(action_id=ChannelAction.objects.get(order=done_order).pk)
    wait_until_due(submitted)
    handed_to_workers()
    acknowledges = list(ChannelAction.objects.filter(order__in=[due_order, other_due_order], kind="acknowledge")
                        .order_by("pk").values_list("pk", flat=True))

    assert sweep_channel_actions() is True
    assert handed_to_workers() == [(DRAIN, [], False)] * settings.CHANNEL_ACTION_DRAINS
    ship = ChannelAction.objects.get(order=due_order, kind="ship")
    carried_out = [outcome.action_id for outcome in outbox.process_due_actions()]
    assert sorted(carried_out) == sorted([*acknowledges, submitted.pk, ship.pk])
    assert carried_out.index(ship.pk) > carried_out.index(acknowledges[0])  # due once its acknowledge is done


def test_the_sweep_hands_nothing_out_when_nothing_is_due(sandbox, wm_account, broker_queue):
    sandbox.walmart.create_orders(count=1)
    wm_account.create_store_order = False
    wm_account.save()
    account_import_orders(account_id=wm_account.pk)
    order_acknowledge(order_id=Order.objects.get().pk)
    ChannelAction.objects.update(next_attempt_at=timezone.now() + dt.timedelta(hours=1))
    handed_to_workers()

    assert sweep_channel_actions() is False
    assert handed_to_workers() == []


def test_every_retry_adds_its_attempts_to_those_made_before(walmart_account, operator):
    """Two retries of an action that failed six times each: twelve attempts before the count began again."""
    from tests.factories import ChannelActionFactory, create_order

    action = ChannelActionFactory(order=create_order(account=walmart_account), state=State.FAILED, attempts=6,
                                  last_error="HTTP 500")
    for tried_before in (6, 12):
        outbox.order_retry_failed_actions(order_id=action.order_id, user=operator)
        action.refresh_from_db()
        assert (action.attempts, action.attempts_before_retry) == (0, tried_before)
        ChannelAction.objects.filter(pk=action.pk).update(state=State.FAILED, attempts=6)
