"""Outbox lanes (issue 14): an operator's click is claimed before any bulk or automatic work, and
bulk work is shared fairly between accounts."""

import uuid
from collections import Counter

import pytest
from django.db import transaction
from django.utils import timezone

from orders import outbox
from orders.batching import batched_channel_actions
from orders.models import ChannelAction, Order, OrderStatus
from orders.services.acknowledge import order_acknowledge
from tests.factories import ChannelAccountFactory, build_order

pytestmark = pytest.mark.django_db
Lane, State = ChannelAction.Lane, ChannelAction.State


def queued_acknowledgements(account, count: int) -> list[ChannelAction]:
    """`count` orders of the account, each with a bulk-lane acknowledgement waiting (as a bulk job or
    the import's automation leaves them)."""
    orders = Order.objects.bulk_create([build_order(account=account, status=OrderStatus.CREATED, n_items=1)[0]
                                        for _ in range(count)])
    now = timezone.now()
    return ChannelAction.objects.bulk_create([
        ChannelAction(order=order, account=account, kind=ChannelAction.Kind.ACKNOWLEDGE, description="Acknowledge",
                      lane=Lane.BULK, next_attempt_at=now, idempotency_key=uuid.uuid4())
        for order in orders])


def settle(action: ChannelAction) -> None:
    ChannelAction.objects.filter(pk=action.pk).update(state=State.SUCCEEDED)


def test_an_operator_action_overtakes_a_thousand_queued_bulk_actions(walmart_account):
    queued_acknowledgements(walmart_account, 1000)
    [order] = Order.objects.bulk_create([build_order(account=walmart_account, status=OrderStatus.CREATED,
                                                     n_items=1)[0]])

    order_acknowledge(order_id=order.pk)  # an operator's click, queued after the thousand

    clicked = ChannelAction.objects.get(order=order)
    assert clicked.lane == Lane.INTERACTIVE
    assert outbox.claim().pk == clicked.pk


def test_an_interactive_action_takes_its_orders_earlier_bulk_actions_along(walmart_account):
    [waiting_ack, *_] = queued_acknowledgements(walmart_account, 50)
    with transaction.atomic():
        outbox.enqueue_action(order=waiting_ack.order, kind=ChannelAction.Kind.SHIP, description="Ship",
                              payload={"lines": []})
    waiting_ack.refresh_from_db()
    assert waiting_ack.lane == Lane.INTERACTIVE  # else the operator's ship would wait for it in the bulk lane
    assert outbox.claim().pk == waiting_ack.pk  # first in first out per order: the acknowledgement, then the ship


def test_bulk_work_is_shared_fairly_between_accounts(walmart_account):
    other = ChannelAccountFactory()
    queued_acknowledgements(walmart_account, 300)
    small = {action.pk for action in queued_acknowledgements(other, 10)}  # queued last

    served = Counter()
    for _ in range(40):
        action = outbox.claim()
        served["small" if action.pk in small else "big"] += 1
        settle(action)
    # Each claim draws one account with due bulk work: the small account's ten are done within the
    # first forty claims (first in first out would serve it after the other's 300).
    assert served["small"] == 10


def test_a_bulk_job_and_a_bulk_retry_queue_in_the_bulk_lane(walmart_account):
    orders = Order.objects.bulk_create([build_order(account=walmart_account, status=OrderStatus.CREATED,
                                                    n_items=1)[0] for _ in range(3)])
    with transaction.atomic(), batched_channel_actions():
        for order in orders:
            order_acknowledge(order_id=order.pk)
    assert set(ChannelAction.objects.values_list("lane", flat=True)) == {Lane.BULK}
    ChannelAction.objects.update(state=State.FAILED)

    outbox.order_retry_failed_actions(order_id=orders[0].pk)  # one order, from its page
    with batched_channel_actions():  # Retry Failed Sync on a selection
        outbox.order_retry_failed_actions(order_id=orders[1].pk)
    assert ChannelAction.objects.get(order=orders[0]).lane == Lane.INTERACTIVE
    assert ChannelAction.objects.get(order=orders[1]).lane == Lane.BULK
