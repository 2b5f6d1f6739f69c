"""Issue 10 §7 (10,000 on the channel within 2 minutes with Redis): a drain claims several due bulk
actions of one account together and records the channel's confirmations of them in one transaction,
still fenced per action (R-REL-2) and still sending nothing twice (R-SYNC-4)."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from orders import outbox
from orders.bulk import run_for_each_order
from orders.models import ChannelAction, SyncState
from orders.services.acknowledge import order_acknowledge
from orders.services.shipments import Tracking, order_ship
from tests.helpers import ups_tracking

pytestmark = pytest.mark.django_db
State = ChannelAction.State


@pytest.fixture
def bulk_acknowledgements(import_walmart_orders):
    """acknowledge(count): that many Walmart orders sold, imported and acknowledged in bulk (queued)."""
    def acknowledge(count: int) -> list[int]:
        ids = [order.pk for order in import_walmart_orders(count)][-count:]
        with transaction.atomic():
            run_for_each_order(order_ids=ids, action=order_acknowledge)
        assert set(ChannelAction.objects.values_list("lane", flat=True)) == {ChannelAction.Lane.BULK}
        return ids
    return acknowledge


def acknowledgements_sent(sandbox) -> int:
    return len(sandbox.requests.all(method="POST", path="/acknowledge$"))


def take_over(action: ChannelAction) -> ChannelAction:
    """The action's lease runs out and another worker claims it."""
    ChannelAction.objects.filter(pk=action.pk).update(lease_expires_at="2000-01-01T00:00:00Z")
    assert outbox.recover_expired_leases() == 1
    return outbox.claim(action_id=action.pk)


def test_bulk_actions_of_an_account_are_claimed_together_an_operators_click_alone(sandbox, bulk_acknowledgements,
                                                                                settings):
    ids = bulk_acknowledgements(5)
    with transaction.atomic():
        order_ship(order_id=ids[4], tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(1)))

    # The click's ship took its order's acknowledgement along into the interactive lane: those first, alone.
    first = outbox.claim_many(limit=10)
    assert [action.kind for action in first] == ["acknowledge"] and first[0].order_id == ids[4]
    batch = outbox.claim_many(limit=3)
    assert [action.order_id for action in batch] == ids[:3]
    assert len({action.claim_token for action in batch}) == 1 and batch[0].claim_token != first[0].claim_token
    assert set(ChannelAction.objects.filter(pk__in=[a.pk for a in batch]).values_list("state", "attempts")) == {
        (State.IN_FLIGHT, 1)}


def test_a_drain_records_a_batch_of_confirmations_with_a_few_queries_not_a_score_each(sandbox, bulk_acknowledgements,
                                                                                    settings):
    """Four acknowledgements, then eight more: the four more cost about one query each."""
    settings.CHANNEL_ACTION_BULK_BATCH = 20
    bulk_acknowledgements(4)
    with CaptureQueriesContext(connection) as four:
        outbox.process_due_actions()
    ids = bulk_acknowledgements(8)
    with CaptureQueriesContext(connection) as eight:
        outcomes = outbox.process_due_actions()

    assert [outcome.state for outcome in outcomes] == [State.SUCCEEDED] * 8
    # Per action one query is left: the fenced lease renewal right before its call. Recorded one by one,
    # each cost 19 (measured: 4 then 8 took 81 then 157 queries; batched 27 then 31).
    assert len(eight) - len(four) <= 4 * 2, [query["sql"] for query in eight.captured_queries]
    for order_id in ids:
        action = ChannelAction.objects.get(order_id=order_id)
        assert action.channel_reference and (action.claim_token, action.lease_expires_at) == (None, None)
        assert action.updated_at == action.completed_at  # recorded when the confirmation was
    assert all(po.acknowledged for po in sandbox.walmart.orders.values())
    assert acknowledgements_sent(sandbox) == 12


def test_a_batch_records_only_the_confirmations_of_actions_it_still_holds(sandbox, bulk_acknowledgements, caplog):
    """The worker sent three acknowledgements; before it records them, one action's lease ran out and
    another worker claimed it. The batch records the other two; the taken-over one is its new owner's,
    which reads the order back and records it applied, without acknowledging it a second time."""
    ids = bulk_acknowledgements(3)
    batch = outbox.claim_many(limit=3)
    landed = [outbox._carry_out(action) for action in batch]
    assert acknowledgements_sent(sandbox) == 3
    new_owner = take_over(batch[1])

    outcomes = outbox._record_landed(landed)

    assert [outcome.state for outcome in outcomes] == [State.SUCCEEDED, outbox.STALE, State.SUCCEEDED]
    backed_off = [r.getMessage() for r in caplog.records if "backing off" in r.getMessage()]
    assert backed_off == [f"channel action {batch[1].pk} (Acknowledge): this worker's claim expired and was taken "
                          "over; backing off from recording the channel's confirmation without sending or writing"]
    taken = ChannelAction.objects.get(pk=batch[1].pk)
    assert (taken.state, taken.claim_token) == (State.IN_FLIGHT, new_owner.claim_token)
    assert not ChannelAction.objects.get(pk=batch[1].pk).order.logs.filter(message__contains="done on").exists()
    assert outbox._run_many([new_owner]) == [outbox.Outcome(batch[1].pk, State.SUCCEEDED)]
    assert acknowledgements_sent(sandbox) == 3
    logs = ChannelAction.objects.get(pk=batch[1].pk).order.logs
    assert logs.filter(message__contains="done on Walmart (found already applied when checked)").count() == 1
    for order_id in ids:
        assert ChannelAction.objects.get(order_id=order_id).state == State.SUCCEEDED


def test_a_batch_whose_claim_is_lost_before_its_call_sends_nothing_for_that_action(sandbox, bulk_acknowledgements,
                                                                                 caplog):
    bulk_acknowledgements(3)
    batch = outbox.claim_many(limit=3)
    take_over(batch[2])

    outcomes = outbox._run_many(batch)

    assert [outcome.state for outcome in outcomes] == [State.SUCCEEDED, State.SUCCEEDED, outbox.STALE]
    assert acknowledgements_sent(sandbox) == 2
    assert [r.getMessage() for r in caplog.records if "backing off" in r.getMessage()] == [
        f"channel action {batch[2].pk} (Acknowledge): this worker's claim expired and was taken over; backing off "
        "from the channel call without sending or writing"]


def test_a_drain_that_dies_before_recording_its_batch_never_acknowledges_twice(sandbox, bulk_acknowledgements):
    ids = bulk_acknowledgements(3)
    for action in outbox.claim_many(limit=3):
        outbox._carry_out(action)  # sent; the worker dies before recording
    ChannelAction.objects.update(lease_expires_at="2000-01-01T00:00:00Z")
    assert outbox.recover_expired_leases() == 3

    outcomes = outbox.process_due_actions()

    assert [outcome.state for outcome in outcomes] == [State.SUCCEEDED] * 3
    assert acknowledgements_sent(sandbox) == 3
    for order_id in ids:
        action = ChannelAction.objects.select_related("order").get(order_id=order_id)
        assert action.order.sync_state == SyncState.OK
        assert list(action.order.logs.filter(message__contains="done on").values_list("message", flat=True)) == [
            "Acknowledge: done on Walmart (found already applied when checked)."]
