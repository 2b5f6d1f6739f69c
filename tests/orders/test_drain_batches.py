"""Issue 10 §7 (10,000 on the channel within 2 minutes with Redis): a drain claims several due bulk
actions of one account together and records the channel's confirmations of them in one transaction,
still fenced per action (R-REL-2) and still sending nothing twice (R-SYNC-4)."""

import datetime as dt

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from channels import pacing
from channels.registry import forget_clients
from orders import outbox
from orders.batching import draining_channel_actions
from orders.bulk import run_for_each_order
from orders.log import Type
from orders.models import ChannelAction, OrderLog, SyncState
from orders.services.acknowledge import order_acknowledge
from orders.services.shipments import Tracking, order_ship
from orders.tasks import drain_channel_actions
from tests.helpers import ups_tracking
from tests.orders.test_outbox_edges import DRAIN, broker_queue, handed_to_workers  # noqa: F401 (broker_queue: a fixture)

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


# -- paced to the channel's limit (make run paces; a bulk Acknowledge of 333 Walmart orders flooded the
# embedded broker with a message per held-back action, and an operator's click waited over a minute) --

@pytest.fixture
def walmart_acknowledgements_limited(settings, monkeypatch):
    """limit(burst, rate): Walmart's acknowledgements paced to that, from a full bucket, kept in the
    database (each test its own; Redis keeps buckets between tests)."""
    from channels.models import PaceBucket

    def limit(*, burst: int, rate: float) -> None:
        PaceBucket.objects.all().delete()
        settings.CHANNEL_PACING, settings.REDIS_URL, settings.CELERY_BROKER_URL = True, "", "memory://"
        monkeypatch.setitem(pacing.WALMART_LIMITS, "acknowledge", pacing.Limit(rate=rate, burst=burst))
        pacing.reset_shared_buckets()
        forget_clients()
    yield limit
    pacing.reset_shared_buckets()


def acknowledge_tokens_asked(queries) -> int:
    return sum('FROM "channels_pacebucket"' in query["sql"] and "'acknowledge'" in query["sql"]
               for query in queries.captured_queries)


@pytest.mark.usefixtures("broker_queue")
def test_r_sync_3_a_drain_held_back_by_the_limit_asks_once_sends_no_message_per_action_and_drains_again_then(
        sandbox, bulk_acknowledgements, walmart_acknowledgements_limited, settings):
    settings.CHANNEL_ACTION_BULK_BATCH = 5
    ids = bulk_acknowledgements(12)
    walmart_acknowledgements_limited(burst=3, rate=0.001)  # 3 at once, the next in about 18 minutes
    started = timezone.now()
    with CaptureQueriesContext(connection) as queries, draining_channel_actions() as drain:
        outcomes = outbox.process_due_actions()

    assert acknowledgements_sent(sandbox) == 3
    assert [outcome.state for outcome in outcomes] == [State.SUCCEEDED] * 3 + [State.PENDING] * 2
    # The pacer said no once; the other nine were not asked about one by one (12 questions before).
    assert acknowledge_tokens_asked(queries) == 4
    waiting = ChannelAction.objects.filter(order_id__in=ids[3:])
    [(due, attempts)] = set(waiting.values_list("next_attempt_at", "attempts"))
    assert attempts == 0 and due > started + dt.timedelta(minutes=15)
    assert all("held back to stay within the channel's limit" in error
               for error in waiting.values_list("last_error", flat=True))
    assert drain.next_due == due  # one drain then, no message of each action's own
    assert handed_to_workers() == []
    assert not OrderLog.objects.filter(order_id__in=ids, type__in=[Type.WARNING, Type.ERROR]).exists()

    ChannelAction.objects.filter(order_id__in=ids[3:]).update(next_attempt_at=started)  # the wait is over
    walmart_acknowledgements_limited(burst=12, rate=0.001)
    assert drain_channel_actions() == 9
    assert handed_to_workers() == []  # nothing was put off: no drain to start
    assert acknowledgements_sent(sandbox) == 12


@pytest.mark.usefixtures("broker_queue")
def test_r_sync_3_the_drain_the_limit_put_off_is_started_for_when_the_next_token_is_there(
        sandbox, bulk_acknowledgements, walmart_acknowledgements_limited):
    ids = bulk_acknowledgements(4)
    walmart_acknowledgements_limited(burst=1, rate=0.001)
    assert drain_channel_actions() == 4

    assert handed_to_workers() == [(DRAIN, [], True)]
    assert acknowledgements_sent(sandbox) == 1
    assert ChannelAction.objects.filter(order_id__in=ids, state=State.PENDING).count() == 3


def test_r_sync_3_bulk_work_takes_only_a_token_that_is_there_and_an_operators_click_waits_for_the_next(
        sandbox, bulk_acknowledgements, import_walmart_orders, walmart_acknowledgements_limited, settings):
    """A drain that slept for tokens kept a worker (of two) from the operator, and reserved the next
    token ahead of the click."""
    settings.CHANNEL_PACING_MAX_WAIT_SECONDS = 2.0
    bulk = bulk_acknowledgements(3)
    [clicked] = import_walmart_orders(1)[-1:]
    walmart_acknowledgements_limited(burst=1, rate=3.0)  # a token every 0.37 s (paced with headroom)
    with draining_channel_actions():
        outcomes = outbox.process_due_actions()
    assert [outcome.state for outcome in outcomes] == [State.SUCCEEDED, State.PENDING, State.PENDING]
    assert acknowledgements_sent(sandbox) == 1  # the drain did not sleep for the next two tokens

    with transaction.atomic():
        order_acknowledge(order_id=clicked.pk)
    action = ChannelAction.objects.get(order=clicked)
    assert action.lane == ChannelAction.Lane.INTERACTIVE
    assert outbox.process_action(action_id=action.pk).state == State.SUCCEEDED  # waited for its token
    assert ChannelAction.objects.filter(order_id__in=bulk, state=State.PENDING).count() == 2
