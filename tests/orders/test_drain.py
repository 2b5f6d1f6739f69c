"""Issue 10 §7: bulk channel work goes through drain tasks (orders.batching), not one broker message
per action: a batch of actions asks for its drains once; a drain carries out every due action,
the order's next one included, and settles the bulk job once, at its end."""

import pytest
from django.db import transaction

from orders import tasks
from orders.bulk import run_for_each_order
from orders.models import BulkJob, ChannelAction
from orders.services.acknowledge import order_acknowledge
from orders.services.shipments import Tracking, order_ship
from tests.factories import BulkJobFactory
from tests.helpers import ups_tracking

pytestmark = pytest.mark.django_db
State = ChannelAction.State


@pytest.fixture
def created_orders(import_walmart_orders):
    return import_walmart_orders(4)


def test_a_batch_asks_for_its_drains_once_not_a_message_per_action(created_orders, settings,
                                                                  django_capture_on_commit_callbacks):
    settings.CHANNEL_ACTION_DRAINS = 2
    ids = [order.pk for order in created_orders]
    with django_capture_on_commit_callbacks() as batched, transaction.atomic():
        run_for_each_order(order_ids=ids, action=order_acknowledge)
    with django_capture_on_commit_callbacks() as single, transaction.atomic():
        order_ship(order_id=ids[0], tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(1)))

    assert ChannelAction.objects.filter(kind="acknowledge").count() == 4
    assert [callback.__name__ for callback in batched] == ["dispatch_drains"]  # one hand-off for the 4 actions
    assert len(single) == 1 and single[0].__name__ == "<lambda>"  # an action on its own: its own message


def test_a_drain_carries_out_every_due_action_and_settles_the_bulk_job_once(sandbox, created_orders):
    ids = [order.pk for order in created_orders]
    job = BulkJobFactory(action="acknowledge", label="Acknowledge", order_ids=ids, processed=len(ids),
                         state=BulkJob.State.WAITING)
    run_for_each_order(order_ids=ids, action=order_acknowledge, bulk_job_id=job.pk)
    # Each order's ship waits behind its acknowledge: the drain's loop takes it once that is done.
    for n, order_id in enumerate(ids):
        order_ship(order_id=order_id, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(n)))

    assert tasks.drain_channel_actions() == 8

    assert set(ChannelAction.objects.values_list("state", flat=True)) == {State.SUCCEEDED}
    assert all(po.acknowledged and po.lines[0].shipped for po in sandbox.walmart.orders.values())
    job.refresh_from_db()
    assert job.state == BulkJob.State.DONE and job.finished_at is not None


def test_a_bulk_job_a_dead_drain_left_waiting_is_settled_by_the_sweep(sandbox, created_orders):
    ids = [order.pk for order in created_orders]
    job = BulkJobFactory(action="acknowledge", order_ids=ids, processed=len(ids), state=BulkJob.State.WAITING)
    run_for_each_order(order_ids=ids, action=order_acknowledge, bulk_job_id=job.pk)
    ChannelAction.objects.update(state=State.SUCCEEDED)  # done on the channel; the drain died before settling

    tasks.sweep_channel_actions()

    job.refresh_from_db()
    assert job.state == BulkJob.State.DONE
