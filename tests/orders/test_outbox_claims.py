"""Issue 9 §2 (mutation testing of orders/outbox.py): which actions a worker claims and how many, how a
claim ends (lease, fencing, takeover), a stale worker's back-off, the last attempt and Retry Failed Sync
— the exactly-once paths of R-SYNC-3, R-SYNC-4 and R-REL-2 — pinned where mutants `make mutation` left
alive showed no test did (tools/mutation_survivors.md names the mutants each test kills)."""

import datetime as dt
import threading
import time
import uuid
from contextlib import contextmanager

import pytest
from django.db import connection, transaction
from django.utils import timezone

from channels.pacing import taking_only_tokens_there
from orders import outbox
from orders.batching import draining_channel_actions
from orders.bulk import run_for_each_order
from orders.models import ChannelAction, Order, OrderLog, SyncState
from orders.services.acknowledge import order_acknowledge
from orders.services.cancel import order_cancel
from orders.services.importing import account_import_orders
from orders.services.shipments import order_ship
from tests.factories import (
    ChannelAccountFactory,
    ChannelActionFactory,
    OrderFactory,
    create_order,
)
from tests.orders.test_drain_batches import (  # noqa: F401 (walmart_acknowledgements_limited: a fixture)
    acknowledgements_sent,
    take_over,
    walmart_acknowledgements_limited,
)
from tests.orders.test_outbox_edges import (  # noqa: F401 (broker_queue: a fixture)
    DRAIN,
    PROCESS,
    UPS,
    amazon_refunds_submitted,
    broker_queue,
    handed_to_workers,
    wait_until_due,
)
from tests.orders.test_shipping_paths import walmart_order

pytestmark = pytest.mark.django_db
State = ChannelAction.State
Lane = ChannelAction.Lane


def acknowledged_first(sandbox) -> str:
    """The purchase order the first acknowledgement that reached Walmart was for."""
    return sandbox.requests.all(method="POST", path="/acknowledge$")[0].path.split("/")[-2]


def backed_off(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if "backing off" in record.getMessage()]


# -- which actions a claim takes ------------------------------------------------------------------

def test_r_sync_3_a_worker_takes_the_action_due_longest_not_the_oldest_row(sandbox, import_walmart_orders):
    """The older action's retry was due a minute ago, the newer one's an hour ago: the
    newer one reaches the channel first."""
    first, second = import_walmart_orders(2)
    for order in (first, second):
        order_acknowledge(order_id=order.pk)
    older, newer = ChannelAction.objects.order_by("pk")
    now = timezone.now()
    ChannelAction.objects.filter(pk=older.pk).update(next_attempt_at=now - dt.timedelta(minutes=1))
    ChannelAction.objects.filter(pk=newer.pk).update(next_attempt_at=now - dt.timedelta(hours=1))

    assert outbox.process_action() == outbox.Outcome(newer.pk, State.SUCCEEDED)
    assert acknowledged_first(sandbox) == second.channel_order_id
    assert ChannelAction.objects.get(pk=older.pk).state == State.PENDING


def test_r_sync_4_a_worker_asked_for_one_action_takes_one_and_leaves_the_others_due(sandbox, import_walmart_orders):
    with transaction.atomic():  # a bulk Acknowledge: three due in the bulk lane
        run_for_each_order(order_ids=[order.pk for order in import_walmart_orders(3)], action=order_acknowledge)

    outcome = outbox.process_action()

    assert outcome.state == State.SUCCEEDED and acknowledgements_sent(sandbox) == 1
    others = ChannelAction.objects.exclude(pk=outcome.action_id)
    assert set(others.values_list("state", "attempts", "claim_token", "lease_expires_at")) == {
        (State.PENDING, 0, None, None)}


def bulk_actions(account, count: int) -> list[ChannelAction]:
    return [ChannelActionFactory(order=create_order(account=account), lane=Lane.BULK) for _ in range(count)]


def test_r_sync_4_a_bulk_claim_takes_due_actions_of_one_account_up_to_the_batch_size(db):
    """Fair between accounts: each claim is one account's batch, never a mix; the claim is the
    actions' latest change (their Channel actions page shows it)."""
    mine, theirs = ChannelAccountFactory(title="Walmart A"), ChannelAccountFactory(title="Walmart B")
    actions = {mine.pk: bulk_actions(mine, 3), theirs.pk: bulk_actions(theirs, 2)}
    before = timezone.now()

    first = outbox.claim_many(limit=2)
    batches = [first]
    while batch := outbox.claim_many(limit=10):
        batches.append(batch)

    assert len(first) == 2  # both accounts have more than two due
    assert all(len({action.account_id for action in batch}) == 1 for batch in batches)
    assert sorted(action.pk for batch in batches for action in batch) == sorted(
        action.pk for due in actions.values() for action in due)
    rows = ChannelAction.objects.filter(pk__in=[a.pk for batch in actions.values() for a in batch])
    assert set(rows.values_list("state", "attempts")) == {(State.IN_FLIGHT, 1)}
    assert all(before <= updated <= timezone.now() for updated in rows.values_list("updated_at", flat=True))
    assert len(set(rows.values_list("claim_token", flat=True))) == len(batches)  # one token a claim


# -- leases and takeovers -------------------------------------------------------------------------

def test_r_rel_2_a_takeover_makes_the_action_due_at_once_verify_first_and_happens_once(sandbox, import_walmart_orders):
    """A worker died holding the action: the sweep takes it over once — due now, to be read back before
    anything is resent — and a later sweep finds nothing more to take over."""
    [order] = import_walmart_orders(1)
    order_acknowledge(order_id=order.pk)
    claimed = outbox.claim()
    ChannelAction.objects.filter(pk=claimed.pk).update(lease_expires_at=timezone.now() - dt.timedelta(seconds=1))
    before = timezone.now()

    assert outbox.recover_expired_leases() == 1

    after = timezone.now()
    taken = ChannelAction.objects.get(pk=claimed.pk)
    assert (taken.state, taken.needs_verification, taken.claim_token, taken.attempts) == (
        State.PENDING, True, None, 1)
    assert before <= taken.next_attempt_at <= after and before <= taken.updated_at <= after
    assert outbox.recover_expired_leases() == 0
    assert ChannelAction.objects.get(pk=claimed.pk).updated_at == taken.updated_at


def test_r_rel_2_a_reader_whose_claim_was_taken_over_backs_off_when_its_read_fails_and_writes_nothing(
        sandbox, az_account, caplog):
    """Worker A claims a submission's report and stalls until it is due again; worker B claims it; A's
    read then fails (503): A backs off, says so, and leaves B's claim and the action's record alone."""
    [(_order, action)] = amazon_refunds_submitted(sandbox, az_account)
    wait_until_due(action)
    stalled = outbox.claim_poll(action_id=action.pk)
    wait_until_due(action)
    new_reader = outbox.claim_poll(action_id=action.pk)
    sandbox.faults.add(kind="503", path="/feeds/2021-06-30/feeds/", method="GET", count=3)

    assert outbox._poll(stalled) == outbox.Outcome(action.pk, outbox.STALE)

    assert backed_off(caplog) == [
        (f"channel action {action.pk} ({action.description}): this worker's claim expired and was taken over; "
         "backing off from reading the submission without sending or writing")]
    after = ChannelAction.objects.get(pk=action.pk)
    assert (after.state, after.last_error, after.claim_token) == (State.SUBMITTED, "", new_reader.claim_token)
    assert outbox._poll(new_reader) == outbox.Outcome(action.pk, State.SUCCEEDED)


def test_r_rel_2_of_two_readers_racing_for_one_submission_only_the_first_claims_it(sandbox, az_account):
    """Reader A has picked the submission; before its claim lands, reader B claims it (moving its next
    read on). A's claim then matches nothing: one reader, not two."""
    [(_order, action)] = amazon_refunds_submitted(sandbox, az_account)
    wait_until_due(action)
    table = ChannelAction._meta.db_table
    other: dict[str, ChannelAction | None] = {}

    def reader_b_first(execute, sql, params, many, context):
        if "reader" not in other and sql.lstrip().upper().startswith("UPDATE") and table in sql:
            other["reader"] = None  # B's own statements run as they are
            other["reader"] = outbox.claim_poll(action_id=action.pk)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(reader_b_first):
        reader_a = outbox.claim_poll(action_id=action.pk)

    assert other["reader"] is not None and other["reader"].pk == action.pk
    assert reader_a is None
    assert ChannelAction.objects.get(pk=action.pk).claim_token == other["reader"].claim_token


# -- the last attempt -----------------------------------------------------------------------------

def test_r_sync_3_the_last_attempt_the_channel_turns_away_fails_the_action_with_its_answer(
        sandbox, import_walmart_orders, settings):
    """One attempt allowed; Walmart answers 429 (nothing applied): the action fails at once, with
    Walmart's answer, nothing to verify, its lease and claim gone, 'Finished at' its failure."""
    settings.CHANNEL_ACTION_MAX_ATTEMPTS = 1
    [order] = import_walmart_orders(1)
    order_acknowledge(order_id=order.pk)
    action = ChannelAction.objects.get(order=order)
    sandbox.faults.add(kind="429", path="/acknowledge$", count=1)
    claimed = outbox.claim(action_id=action.pk)
    before = timezone.now()

    [outcome] = outbox._run_many([claimed])

    action.refresh_from_db()
    assert outcome == outbox.Outcome(action.pk, State.FAILED, action.last_error)
    assert "HTTP 429" in action.last_error
    assert (action.state, action.attempts, action.needs_verification, action.lease_expires_at,
            action.claim_token) == (State.FAILED, 1, False, None, None)
    assert before <= action.updated_at <= timezone.now()
    assert acknowledgements_sent(sandbox) == 1
    last = OrderLog.objects.filter(order=order).latest("pk")
    assert (last.type, last.message) == (OrderLog.Type.ERROR, (f"Acknowledge: failed after 1 attempt(s): "
                                         f"{action.last_error}. Use Retry Failed Sync once the cause is fixed."))


def test_r_sync_3_a_drain_put_off_by_the_channels_wait_drains_again_after_it_not_before(
        sandbox, import_walmart_orders):
    """Walmart answers 429 asking for a second: the drain's loop leaves the action, and the drain is
    due again once the wait is over."""
    [order] = import_walmart_orders(1)
    order_acknowledge(order_id=order.pk)
    sandbox.faults.add(kind="429", path="/acknowledge$", count=1, retry_after_ms=1000)
    started = timezone.now()

    with draining_channel_actions() as drain:
        [outcome] = outbox.process_due_actions()

    action = ChannelAction.objects.get(order=order)
    assert outcome == outbox.Outcome(action.pk, State.PENDING, action.last_error) and action.attempts == 1
    assert drain.next_due is not None and started + dt.timedelta(seconds=1) <= drain.next_due
    assert abs((drain.next_due - action.next_attempt_at).total_seconds()) < 0.5


# -- a round of due work ----------------------------------------------------------------------------

def test_r_sync_4_a_round_of_bulk_work_stops_at_its_limit_in_batches_of_the_bulk_size(
        sandbox, import_walmart_orders, settings):
    settings.CHANNEL_ACTION_BULK_BATCH = 2
    with transaction.atomic():
        run_for_each_order(order_ids=[order.pk for order in import_walmart_orders(5)], action=order_acknowledge)

    outcomes = outbox.process_due_actions(limit=3)

    assert [outcome.state for outcome in outcomes] == [State.SUCCEEDED] * 3
    assert acknowledgements_sent(sandbox) == 3
    assert ChannelAction.objects.filter(state=State.PENDING, attempts=0).count() == 2


def test_r_sync_4_a_round_reads_a_due_submission_however_many_settled_actions_were_due_before_it(
        sandbox, import_walmart_orders, az_account):
    """One round, room for one: not taken by an acknowledgement done long ago."""
    [order] = import_walmart_orders(1)
    order_acknowledge(order_id=order.pk)
    assert outbox.process_action().state == State.SUCCEEDED
    ChannelAction.objects.filter(order=order).update(next_attempt_at=timezone.now() - dt.timedelta(days=1))
    [(_, submitted)] = amazon_refunds_submitted(sandbox, az_account)
    wait_until_due(submitted)

    assert outbox.process_due_actions(limit=1) == [outbox.Outcome(submitted.pk, State.SUCCEEDED)]


@pytest.mark.usefixtures("broker_queue")
def test_r_sync_4_the_sweep_starts_drains_for_a_due_action_alone_or_a_due_submission_alone_not_for_settled_ones(
        sandbox, import_walmart_orders, az_account, settings):
    [order] = import_walmart_orders(1)
    order_acknowledge(order_id=order.pk)
    assert outbox.process_action().state == State.SUCCEEDED  # done: due long ago, nothing to do
    [(_, submitted)] = amazon_refunds_submitted(sandbox, az_account)
    ChannelAction.objects.filter(pk=submitted.pk).update(next_attempt_at=timezone.now() + dt.timedelta(hours=1))
    handed_to_workers()
    drains = [(DRAIN, [], False)] * settings.CHANNEL_ACTION_DRAINS

    assert outbox.sweep_due_actions() is False  # a done action and a submission read later
    assert handed_to_workers() == []

    ChannelAction.objects.filter(pk=submitted.pk).update(next_attempt_at=timezone.now())
    assert outbox.sweep_due_actions() is True  # the submission alone
    assert handed_to_workers() == drains

    ChannelAction.objects.filter(pk=submitted.pk).update(next_attempt_at=timezone.now() + dt.timedelta(hours=1))
    for lane in (Lane.INTERACTIVE, Lane.BULK):  # an action alone, in either lane
        [other] = import_walmart_orders(1)[-1:]
        with transaction.atomic():
            outbox.enqueue_action(order=other, kind=ChannelAction.Kind.ACKNOWLEDGE, description="Acknowledge")
        ChannelAction.objects.filter(order=other).update(lane=lane)
        handed_to_workers()
        assert outbox.sweep_due_actions() is True
        assert handed_to_workers() == drains
        ChannelAction.objects.filter(order=other).update(state=State.SUCCEEDED)


# -- queuing --------------------------------------------------------------------------------------

@pytest.mark.usefixtures("broker_queue")
def test_r_sync_4_actions_an_import_queues_in_one_go_are_handed_to_drains_once_it_commits(
        sandbox, wm_account, settings, django_capture_on_commit_callbacks):
    """R-ACC-2: two Walmart orders imported with automatic store orders, each acknowledged: Waiting,
    with no error shown, their acknowledgements handed to drain tasks."""
    sandbox.walmart.create_orders(count=2)

    with django_capture_on_commit_callbacks(execute=True):
        account_import_orders(account_id=wm_account.pk)

    assert set(ChannelAction.objects.values_list("kind", "lane", "state")) == {
        ("acknowledge", Lane.BULK, State.PENDING)}
    assert set(Order.objects.values_list("sync_state", "sync_error")) == {(SyncState.PENDING, "")}
    assert handed_to_workers() == [(DRAIN, [], False)] * settings.CHANNEL_ACTION_DRAINS


def test_a_shipment_an_operator_queues_is_theirs_in_the_order_log_and_on_the_action(
        sandbox, wm_account, operator):
    order = walmart_order(sandbox, wm_account, acknowledged=True)

    order_ship(order_id=order.pk, tracking=UPS, user=operator)

    ship = ChannelAction.objects.get(order=order, kind="ship")
    assert (ship.created_by, ship.lane) == (operator, Lane.INTERACTIVE)
    queued = OrderLog.objects.get(order=order, message=f"{ship.description}: queued for Walmart.")
    assert (queued.user, queued.initiator) == (operator, OrderLog.Initiator.USER)


def test_an_operators_click_takes_its_orders_waiting_bulk_actions_along_and_no_others(
        sandbox, import_walmart_orders, operator):
    """A bulk Acknowledge of three orders; one acknowledgement done. A ship clicked on an order whose
    acknowledgement still waits takes it into the interactive lane; the others' stay in the bulk lane,
    and the one done keeps the lane it ran in."""
    done, clicked, other = import_walmart_orders(3)
    with transaction.atomic():
        run_for_each_order(order_ids=[done.pk, clicked.pk, other.pk], action=order_acknowledge)
    acknowledgement = ChannelAction.objects.get(order=done)
    assert outbox.process_action(action_id=acknowledgement.pk).state == State.SUCCEEDED

    for order in (done, clicked):
        order_ship(order_id=order.pk, tracking=UPS, user=operator)

    lanes = dict(ChannelAction.objects.filter(kind="acknowledge").values_list("order_id", "lane"))
    assert lanes == {done.pk: Lane.BULK, clicked.pk: Lane.INTERACTIVE, other.pk: Lane.BULK}


# -- the order's sync state -------------------------------------------------------------------------

def test_r_sync_3_an_order_shows_waiting_while_its_action_is_open_then_in_sync_without_a_message(
        sandbox, import_walmart_orders):
    """The order's id is not its action's: Waiting is decided by the order's own actions."""
    *_, order = import_walmart_orders(3)
    before = timezone.now()

    order_acknowledge(order_id=order.pk)

    action = ChannelAction.objects.get(order=order)
    assert action.pk != order.pk
    waiting = Order.objects.get(pk=order.pk)
    assert (waiting.sync_state, waiting.sync_error) == (SyncState.PENDING, "") and waiting.updated_at >= before
    before = timezone.now()
    assert outbox.process_action(action_id=action.pk).state == State.SUCCEEDED
    assert Order.objects.filter(sync_state=SyncState.OK, sync_error="").count() == 3
    assert Order.objects.get(pk=order.pk).updated_at >= before  # the change of state dates the order


def test_r_sync_3_an_order_whose_actions_failed_shows_the_latest_failure(sandbox, import_walmart_orders, settings):
    settings.CHANNEL_ACTION_MAX_ATTEMPTS = 1
    [order] = import_walmart_orders(1)
    sandbox.faults.add(kind="429", path="/acknowledge$", count=1)
    order_acknowledge(order_id=order.pk)
    outbox.process_action()
    with transaction.atomic():
        later = outbox.enqueue_action(order=order, kind=ChannelAction.Kind.ACKNOWLEDGE,
                                      description="Acknowledge again")
    ChannelAction.objects.filter(pk=later.pk).update(state=State.FAILED, last_error="the second failure")

    outbox.order_refresh_sync_state(order=order)

    assert (order.sync_state, order.sync_error) == (SyncState.ERROR, "Acknowledge again: the second failure")


# -- Retry Failed Sync ------------------------------------------------------------------------------

def failed_acknowledgements(sandbox, import_walmart_orders, settings, count: int) -> list[Order]:
    settings.CHANNEL_ACTION_MAX_ATTEMPTS = 1
    orders = import_walmart_orders(count)
    sandbox.faults.add(kind="429", path="/acknowledge$", count=count)
    for order in orders:
        order_acknowledge(order_id=order.pk)
    outbox.process_due_actions()
    assert set(ChannelAction.objects.values_list("state", flat=True)) == {State.FAILED}
    return orders


@pytest.mark.usefixtures("broker_queue")
def test_r_sync_3_retry_failed_sync_of_one_order_is_an_operators_click_answered_first(
        sandbox, import_walmart_orders, settings, operator, django_capture_on_commit_callbacks):
    [order] = failed_acknowledgements(sandbox, import_walmart_orders, settings, 1)
    action = ChannelAction.objects.get(order=order)
    handed_to_workers()

    with django_capture_on_commit_callbacks(execute=True):
        assert outbox.order_retry_failed_actions(order_id=order.pk, user=operator) == 1

    action.refresh_from_db()
    assert (action.state, action.attempts, action.lane) == (State.PENDING, 0, Lane.INTERACTIVE)
    retried = OrderLog.objects.filter(order=order).latest("pk")
    assert (retried.message, retried.user, retried.initiator) == (
        "Acknowledge: retry requested.", operator, OrderLog.Initiator.USER)
    assert handed_to_workers() == [(PROCESS, [action.pk], False)]


@pytest.mark.usefixtures("broker_queue")
def test_r_sync_3_retry_failed_sync_on_many_orders_goes_to_the_bulk_lane_and_to_drains(
        sandbox, import_walmart_orders, settings, django_capture_on_commit_callbacks):
    orders = failed_acknowledgements(sandbox, import_walmart_orders, settings, 2)
    handed_to_workers()

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        result = run_for_each_order(order_ids=[order.pk for order in orders],
                                    action=outbox.order_retry_failed_actions)

    assert result.done == 2
    assert set(ChannelAction.objects.values_list("state", "attempts", "lane")) == {(State.PENDING, 0, Lane.BULK)}
    assert handed_to_workers() == [(DRAIN, [], False)] * settings.CHANNEL_ACTION_DRAINS


# -- outcomes ---------------------------------------------------------------------------------------

@pytest.mark.usefixtures("broker_queue")
def test_r_sync_3_a_change_amazon_takes_as_a_feed_is_submitted_clean_and_read_at_its_next_poll_not_before(
        sandbox, az_account, fast_retries, settings):
    """Amazon's first answer to the cancel feed was a 500; the next attempt is accepted as a feed: the
    earlier error is gone, the Order Log says so in the channel's name, and the processing report is
    read one poll later — by a worker handed it for then."""
    [order_id] = sandbox.amazon.create_orders(count=1)
    account_import_orders(account_id=az_account.pk)
    order = Order.objects.get(channel_order_id=order_id)
    order_cancel(order_id=order.pk, reason="out_of_stock")
    action = ChannelAction.objects.get(order=order)
    sandbox.faults.add(kind="500", path="/feeds/2021-06-30/feeds$", method="POST", count=1)
    assert outbox.process_action(action_id=action.pk).state == State.PENDING
    wait_until_due(action)
    assert "HTTP 500" in action.last_error
    settings.CHANNEL_FEED_POLL_SECONDS = 60
    handed_to_workers()
    before = timezone.now()

    outcome = outbox.process_action(action_id=action.pk)

    action.refresh_from_db()
    assert outcome == outbox.Outcome(action.pk, State.SUBMITTED, action.channel_reference)
    assert action.channel_reference in sandbox.amazon.feeds
    assert (action.state, action.last_error, action.payload["feed"]) == (State.SUBMITTED, "", True)
    assert before + dt.timedelta(seconds=60) <= action.next_attempt_at <= timezone.now() + dt.timedelta(seconds=60)
    line = OrderLog.objects.filter(order=order).latest("pk")
    assert (line.initiator, line.message) == (
        OrderLog.Initiator.CHANNEL, (f"{action.description}: submitted to Amazon (feed {action.channel_reference}); "
                                     "waiting for its processing report."))
    assert handed_to_workers() == [(PROCESS, [action.pk], True)]
    assert outbox.claim_poll() is None  # not due before its poll


@pytest.mark.usefixtures("broker_queue")
def test_r_sync_4_a_success_hands_over_the_next_action_of_its_own_order_only(
        sandbox, import_walmart_orders, django_capture_on_commit_callbacks):
    mine, other = import_walmart_orders(2)
    for order in (mine, other):
        order_ship(order_id=order.pk, tracking=UPS)  # its acknowledgement first, the shipment behind it
    acknowledgement = ChannelAction.objects.get(order=mine, kind="acknowledge")
    handed_to_workers()

    with django_capture_on_commit_callbacks(execute=True):
        assert outbox.process_action(action_id=acknowledgement.pk).state == State.SUCCEEDED

    assert handed_to_workers() == [(PROCESS, [ChannelAction.objects.get(order=mine, kind="ship").pk], False)]


# -- two workers at once (PostgreSQL: SQLite has no row locks) ----------------------------------------

@contextmanager
def another_worker_holds(action_id: int):
    """Worker B, on its own connection, holds the action's row locked (a claim not yet committed) while
    the block runs, and lets go when it ends — or after 10 s, so a worker that waits for it gets it."""
    locked, released = threading.Event(), threading.Event()

    def worker_b() -> None:
        try:
            with transaction.atomic():
                list(ChannelAction.objects.select_for_update().filter(pk=action_id))
                locked.set()
                released.wait(10)
        finally:
            connection.close()

    b = threading.Thread(target=worker_b)
    b.start()
    try:
        assert locked.wait(10)
        yield
    finally:
        released.set()
        b.join()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_r_rel_2_a_worker_skips_an_action_another_worker_is_claiming_instead_of_waiting_for_it(walmart_account):
    """Worker B holds the oldest due action's row (its claim not yet committed); worker A takes the
    next one at once — not B's, and without waiting for B."""
    first, second = (ChannelActionFactory(order=create_order(account=walmart_account)) for _ in range(2))

    with another_worker_holds(first.pk):
        started = time.monotonic()
        claimed = outbox.claim()
        waited = time.monotonic() - started

    assert claimed.pk == second.pk and waited < 5
    assert ChannelAction.objects.get(pk=first.pk).state == State.PENDING


def two_acknowledgements_one_token(import_walmart_orders, request) -> list[ChannelAction]:
    """Two orders' acknowledgements queued in bulk, Walmart's acknowledgement limit letting one through
    (the next token in 1,000 s), claimed as one batch: pacing holds its second back."""
    orders = import_walmart_orders(2)
    with transaction.atomic():
        run_for_each_order(order_ids=[order.pk for order in orders], action=order_acknowledge)
    request.getfixturevalue("walmart_acknowledgements_limited")(burst=1, rate=0.001)
    return outbox.claim_many(limit=2)


def test_r_sync_3_a_limit_on_acknowledgements_holds_back_no_other_kind_of_the_batch(
        sandbox, import_walmart_orders, request, settings):
    """One drain batch of one account: two acknowledgements and a cancel. Walmart's acknowledgement limit
    lets one through; the second waits for the next token — the cancel, under its own limit, goes."""
    settings.CHANNEL_ACTION_BULK_BATCH = 5
    first, second, canceled = import_walmart_orders(3)
    with transaction.atomic():
        run_for_each_order(order_ids=[first.pk, second.pk], action=order_acknowledge)
        run_for_each_order(order_ids=[canceled.pk], action=order_cancel, reason="out_of_stock")
    request.getfixturevalue("walmart_acknowledgements_limited")(burst=1, rate=0.001)

    before = timezone.now()

    outcomes = outbox.process_due_actions()

    assert [outcome.state for outcome in outcomes] == [State.SUCCEEDED, State.PENDING, State.SUCCEEDED]
    assert acknowledgements_sent(sandbox) == 1
    assert ChannelAction.objects.get(order=canceled).state == State.SUCCEEDED
    held = ChannelAction.objects.get(order=second)  # not an attempt: due when the token is, claim and lease gone
    assert (held.state, held.attempts, held.claim_token, held.lease_expires_at) == (State.PENDING, 0, None, None)
    assert held.next_attempt_at > before + dt.timedelta(minutes=15) and held.updated_at >= before
    assert "held back to stay within the channel's limit" in held.last_error


def test_r_rel_2_a_worker_whose_claim_was_taken_over_records_no_hold_back(
        sandbox, import_walmart_orders, request, caplog):
    """Pacing held the batch's second acknowledgement back; before the worker writes that down, the
    action's lease ran out and another worker claimed it: the hold is not written over the new claim."""
    batch = two_acknowledgements_one_token(import_walmart_orders, request)
    with taking_only_tokens_there():
        _sent, held = [outbox._carry_out(action) for action in batch]
    assert isinstance(held, outbox._HeldBack)
    new_owner = take_over(batch[1])

    assert outbox._hold_back([held]) == [outbox.Outcome(batch[1].pk, outbox.STALE)]

    taken = ChannelAction.objects.get(pk=batch[1].pk)
    assert (taken.state, taken.claim_token, taken.attempts) == (State.IN_FLIGHT, new_owner.claim_token, 2)
    assert backed_off(caplog) == [
        (f"channel action {batch[1].pk} (Acknowledge): this worker's claim expired and was taken over; backing off "
         "from recording that pacing held it back without sending or writing")]


def test_r_sync_3_an_operators_click_over_the_limit_waits_for_the_next_token_without_spending_an_attempt(
        sandbox, import_walmart_orders, request, settings):
    """Two clicks, one token: the second acknowledgement would wait past the most a click may wait, so
    it is held back — due when the next token is, its attempt not spent, its claim gone."""
    settings.CHANNEL_PACING_MAX_WAIT_SECONDS = 0.5
    first, second = import_walmart_orders(2)
    request.getfixturevalue("walmart_acknowledgements_limited")(burst=1, rate=0.001)
    for order in (first, second):
        order_acknowledge(order_id=order.pk)
    assert outbox.process_action().state == State.SUCCEEDED
    claimed = outbox.claim()
    before = timezone.now()

    [outcome] = outbox._run_many([claimed])

    held = ChannelAction.objects.get(order=second)
    assert held.lane == Lane.INTERACTIVE and outcome == outbox.Outcome(held.pk, State.PENDING, held.last_error)
    assert (held.state, held.attempts, held.claim_token, held.lease_expires_at) == (State.PENDING, 0, None, None)
    assert held.next_attempt_at > before + dt.timedelta(minutes=15) and held.updated_at >= before
    assert acknowledgements_sent(sandbox) == 1


@pytest.mark.usefixtures("broker_queue")
def test_r_sync_3_a_hold_back_puts_off_the_same_accounts_due_bulk_actions_of_that_kind_and_nothing_else(
        sandbox, import_walmart_orders, wm_account, request):
    batch = two_acknowledgements_one_token(import_walmart_orders, request)
    now = timezone.now()

    def action(account=wm_account, **fields) -> ChannelAction:
        fields = {"lane": Lane.BULK, "next_attempt_at": now, **fields}
        return ChannelActionFactory(order=create_order(account=account), **fields)

    put_off = action()
    left = [action(kind=ChannelAction.Kind.CANCEL, description="Cancel"), action(account=ChannelAccountFactory()),
            action(lane=Lane.INTERACTIVE), action(state=State.FAILED, last_error="refused"),
            action(next_attempt_at=now + dt.timedelta(days=2))]
    before = {a.pk: (a.next_attempt_at, a.last_error) for a in left}
    handed_to_workers()

    assert [outcome.state for outcome in outbox._run_many(batch)] == [State.SUCCEEDED, State.PENDING]

    held = ChannelAction.objects.get(pk=batch[1].pk)
    put_off.refresh_from_db()
    assert (put_off.next_attempt_at, put_off.last_error, put_off.updated_at) == (
        held.next_attempt_at, held.last_error, held.updated_at)
    assert {a.pk: (a.next_attempt_at, a.last_error) for a in ChannelAction.objects.filter(pk__in=before)} == before
    # the held action handed to a worker for then, and a drain for then for those put off with it
    assert handed_to_workers() == [(PROCESS, [held.pk], True), (DRAIN, [], True)]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_r_rel_2_a_hold_back_puts_off_no_action_another_worker_is_claiming_and_does_not_wait_for_it(
        sandbox, import_walmart_orders, wm_account, request):
    """Pacing holds the batch's second acknowledgement back, and the account's other due acknowledgements
    are put off with it — but not one whose row worker B holds (its claim not yet committed): that row is
    B's, and the hold back neither waits for B nor writes over it (kills `_hold_back`'s SKIP LOCKED
    mutants, which SQLite cannot show)."""
    batch = two_acknowledgements_one_token(import_walmart_orders, request)
    due = timezone.now()
    b_claims, put_off = (ChannelActionFactory(order=create_order(account=wm_account), lane=Lane.BULK,
                                              next_attempt_at=due) for _ in range(2))

    with another_worker_holds(b_claims.pk):
        started = time.monotonic()
        outcomes = outbox._run_many(batch)
        waited = time.monotonic() - started

    assert [outcome.state for outcome in outcomes] == [State.SUCCEEDED, State.PENDING]
    held = ChannelAction.objects.get(pk=batch[1].pk)
    assert ChannelAction.objects.get(pk=put_off.pk).next_attempt_at == held.next_attempt_at > due
    left = ChannelAction.objects.get(pk=b_claims.pk)  # B's: not written over once B let go of it
    assert (left.state, left.next_attempt_at, left.last_error) == (State.PENDING, due, "")
    assert waited < 5  # and not waited for (B holds it 10 s)


@pytest.mark.postgres
def test_r_sync_3_of_actions_due_at_the_same_moment_a_worker_takes_the_one_queued_first_whatever_the_plan(
        walmart_account):
    """A bulk Acknowledge makes many actions due at one moment: they are taken in the order they were
    queued (by id). The partial indexes return ties in id order by themselves; a plan without them
    (here forced: no index scans) returns them as the table stores them — here the later row first —
    so only the claim's own tie-break keeps the order."""
    due = timezone.now() - dt.timedelta(seconds=1)
    stored_first, queued_first = (create_order(account=walmart_account) for _ in range(2))
    later = ChannelActionFactory(pk=10**9 + 2, order=stored_first, next_attempt_at=due)
    earlier = ChannelActionFactory(pk=10**9 + 1, order=queued_first, next_attempt_at=due)
    with connection.cursor() as cursor:  # until the test's transaction ends
        cursor.execute("SET LOCAL enable_indexscan = off; SET LOCAL enable_bitmapscan = off; "
                       "SET LOCAL enable_indexonlyscan = off")

    assert [outbox.claim().pk, outbox.claim().pk] == [earlier.pk, later.pk]


def test_r_rel_2_a_reader_that_loses_the_race_for_five_submissions_gives_up_for_this_round(db):
    """Six submissions due to be read. Reader A picks the five due longest; before its first claim lands,
    other readers claim those five. A tries at most five: it takes none (its round is over) rather
    than walking on down the list behind the readers that beat it — the sixth is left due."""
    now = timezone.now()
    submitted = [ChannelActionFactory(state=State.SUBMITTED, next_attempt_at=now - dt.timedelta(seconds=10 - n))
                 for n in range(6)]
    table = ChannelAction._meta.db_table
    others: list[ChannelAction | None] = []

    def five_others_first(execute, sql, params, many, context):
        if not others and sql.lstrip().upper().startswith("UPDATE") and table in sql:
            others.append(None)  # their own statements run as they are
            others[:] = [outbox.claim_poll() for _ in range(5)]
        return execute(sql, params, many, context)

    with connection.execute_wrapper(five_others_first):
        reader_a = outbox.claim_poll()

    assert reader_a is None
    assert [other.pk for other in others] == [action.pk for action in submitted[:5]]
    sixth = ChannelAction.objects.get(pk=submitted[5].pk)
    assert (sixth.claim_token, sixth.next_attempt_at) == (None, submitted[5].next_attempt_at)


def test_r_sync_3_a_feed_still_processing_is_given_up_on_only_once_the_timeout_is_past_not_at_it(
        sandbox, az_account, settings, monkeypatch):
    """Amazon sits on the feed. Read when exactly CHANNEL_FEED_TIMEOUT_HOURS have passed since it was
    submitted, it is still waited for; a microsecond later it fails, in words (the clock held still)."""
    sandbox.amazon.processing_delay = 3600
    [(_order, action)] = amazon_refunds_submitted(sandbox, az_account)
    wait_until_due(action)
    reader = outbox.claim_poll(action_id=action.pk)
    now = timezone.now()
    submitted_at = now - dt.timedelta(hours=settings.CHANNEL_FEED_TIMEOUT_HOURS)
    ChannelAction.objects.filter(pk=action.pk).update(updated_at=submitted_at)
    reader.updated_at = submitted_at
    monkeypatch.setattr(timezone, "now", lambda: now)

    assert outbox._poll(reader) == outbox.Outcome(action.pk, State.SUBMITTED, "processing")

    monkeypatch.setattr(timezone, "now", lambda: now + dt.timedelta(microseconds=1))
    assert outbox._poll(reader).state == State.FAILED
    waited = dt.timedelta(hours=settings.CHANNEL_FEED_TIMEOUT_HOURS, microseconds=1)
    assert ChannelAction.objects.get(pk=action.pk).last_error == f"the channel has not processed it after {waited}"


def test_r_sync_4_a_round_carries_out_ten_thousand_actions_at_most_and_leaves_the_rest_due(
        walmart_account, settings, monkeypatch):
    """A drain's round (`process_due_actions()`, as the drain task calls it) ends after 10,000 outcomes
    however long the backlog: of 10,001 due actions one is left due, for the drain that follows. (The
    channel calls are left out: each claimed action is taken as done.)"""
    settings.CHANNEL_ACTION_BULK_BATCH = 10_001  # one claim could take them all: only the round's bound stops it
    template = OrderFactory.build(account=walmart_account)
    fields = {field.attname: getattr(template, field.attname)
              for field in Order._meta.concrete_fields if not field.primary_key}
    orders = Order.objects.bulk_create(Order(**{**fields, "channel_order_id": f"{9_000_000 + n}"})
                                       for n in range(10_001))
    now = timezone.now()
    ChannelAction.objects.bulk_create(
        ChannelAction(order=order, account=walmart_account, kind=ChannelAction.Kind.ACKNOWLEDGE,
                      description="Acknowledge", lane=Lane.BULK, next_attempt_at=now, idempotency_key=uuid.uuid4())
        for order in orders)
    monkeypatch.setattr(outbox, "_run_many",
                        lambda actions: [outbox.Outcome(action.pk, State.SUCCEEDED) for action in actions])

    outcomes = outbox.process_due_actions()

    assert len(outcomes) == len({outcome.action_id for outcome in outcomes}) == 10_000
    assert ChannelAction.objects.filter(state=State.PENDING).count() == 1
