"""Issue 9 §2 (mutation testing of orders/outbox.py): which actions a worker claims and how many, how a
claim ends (lease, fencing, takeover), a stale worker's back-off, the last attempt and Retry Failed Sync
— the exactly-once paths of R-SYNC-3, R-SYNC-4 and R-REL-2 — pinned where mutants `make mutation` left
alive showed no test did (tools/mutation_survivors.md names the mutants each test kills)."""

import datetime as dt

import pytest
from django.db import connection, transaction
from django.utils import timezone

from orders import outbox
from orders.bulk import run_for_each_order
from orders.models import ChannelAction, OrderLog
from orders.services.acknowledge import order_acknowledge
from tests.factories import ChannelAccountFactory, ChannelActionFactory, create_order
from tests.orders.test_drain_batches import acknowledgements_sent
from tests.orders.test_outbox_edges import amazon_refunds_submitted, wait_until_due

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
    [(order, action)] = amazon_refunds_submitted(sandbox, az_account)
    wait_until_due(action)
    stalled = outbox.claim_poll(action_id=action.pk)
    wait_until_due(action)
    new_reader = outbox.claim_poll(action_id=action.pk)
    sandbox.faults.add(kind="503", path="/feeds/2021-06-30/feeds/", method="GET", count=3)

    assert outbox._poll(stalled) == outbox.Outcome(action.pk, outbox.STALE)

    assert backed_off(caplog) == [
        f"channel action {action.pk} ({action.description}): this worker's claim expired and was taken over; "
        "backing off from reading the submission without sending or writing"]
    after = ChannelAction.objects.get(pk=action.pk)
    assert (after.state, after.last_error, after.claim_token) == (State.SUBMITTED, "", new_reader.claim_token)
    assert outbox._poll(new_reader) == outbox.Outcome(action.pk, State.SUCCEEDED)


def test_r_rel_2_of_two_readers_racing_for_one_submission_only_the_first_claims_it(sandbox, az_account):
    """Reader A has picked the submission; before its claim lands, reader B claims it (moving its next
    read on). A's claim then matches nothing: one reader, not two."""
    [(order, action)] = amazon_refunds_submitted(sandbox, az_account)
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
    assert (last.type, last.message) == (OrderLog.Type.ERROR, f"Acknowledge: failed after 1 attempt(s): "
                                         f"{action.last_error}. Use Retry Failed Sync once the cause is fixed.")
