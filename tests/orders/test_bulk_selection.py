"""Bulk work over a selection of any size (issues 13, 14): "select all" is recorded as the grid's
filters and resolved by the worker in chunks; Create Store Order and Acknowledge run set-based."""

import pytest
from django.db.models import Count

from orders.actions import CHUNK, bulk_job_run, run_action
from orders.models import BulkJob, ChannelAction, Order, OrderStatus
from tests.factories import create_order

pytestmark = pytest.mark.django_db


def test_select_all_is_recorded_as_the_filters_and_resolved_in_chunks_by_the_worker(walmart_account, monkeypatch):
    monkeypatch.setitem(CHUNK, True, 3)  # several chunks with few orders
    matching = [create_order(account=walmart_account, status=OrderStatus.CREATED, n_items=1) for _ in range(7)]
    others = [create_order(account=walmart_account, status=OrderStatus.SHIPPED, n_items=1) for _ in range(2)]

    job = run_action(name="acknowledge", filters={"status": [OrderStatus.CREATED]}, params={}, user=None)

    assert isinstance(job, BulkJob) and job.order_ids == [] and job.filters == {"status": ["created"]}
    assert not ChannelAction.objects.exists()  # the page only recorded the job
    late = create_order(account=walmart_account, status=OrderStatus.CREATED, n_items=1)  # matches by the time it runs
    job = bulk_job_run(job_id=job.pk)

    acknowledged = set(ChannelAction.objects.values_list("order_id", flat=True))
    assert acknowledged == {order.pk for order in [*matching, late]}
    assert not acknowledged & {order.pk for order in others}
    assert (job.total, job.processed, job.done) == (8, 8, 8)
    assert set(ChannelAction.objects.values_list("lane", "bulk_job_id").distinct()) == {
        (ChannelAction.Lane.BULK, job.pk)}


def test_a_filter_job_interrupted_goes_on_after_the_last_order_it_did(walmart_account, monkeypatch):
    monkeypatch.setitem(CHUNK, False, 2)
    orders = [create_order(account=walmart_account, status=OrderStatus.UNSHIPPED, n_items=1) for _ in range(5)]
    job = run_action(name="cancel", filters={"status": [OrderStatus.UNSHIPPED]}, params={"reason": "out_of_stock"},
                     user=None)
    BulkJob.objects.filter(pk=job.pk).update(last_order_id=orders[1].pk, processed=2, total=5)  # two done before

    bulk_job_run(job_id=job.pk)

    canceled = set(ChannelAction.objects.filter(kind=ChannelAction.Kind.CANCEL).values_list("order_id", flat=True))
    assert canceled == {order.pk for order in orders[2:]}


def test_create_store_order_on_a_selection_is_set_based_and_skips_with_reasons(walmart_account):
    orders = [create_order(account=walmart_account, status=OrderStatus.UNSHIPPED, n_items=2) for _ in range(4)]
    canceled = create_order(account=walmart_account, status=OrderStatus.CANCELED, n_items=1)

    result = run_action(name="create_store_order", order_ids=[o.pk for o in [*orders, canceled]], params={},
                        user=None)

    assert result.done == 4 and dict(result.skipped) == {"order is canceled": 1}
    numbers = list(Order.objects.filter(pk__in=[o.pk for o in orders]).values_list("store_order_number", flat=True))
    assert len(set(numbers)) == 4 and None not in numbers
    assert Order.objects.aggregate(logged=Count("logs"))["logged"] >= 4
