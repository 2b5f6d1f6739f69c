"""A bulk job's count agrees with its confirmation page (R-GRID-3), or its page says why not: a large
"select all" is counted on that page from the database's estimate ("about N"), exactly when the job
starts, and orders can come to match its filters, or stop matching, while it runs."""

import html
import re

import pytest
from django.urls import reverse

from orders.actions import bulk_job_count_note, bulk_job_run, run_action
from orders.admin_lists import EstimatedCountPaginator
from orders.models import BulkJob, Order, OrderStatus, SyncState
from tests.factories import create_order

pytestmark = pytest.mark.django_db
GRID = reverse("admin:orders_order_changelist")
SELECT_ALL = {"action": "acknowledge_action", "select_across": "1"}


def confirm(client, page: dict, asked) -> BulkJob:
    hidden = dict(asked.context["hidden"])
    client.post(f"{GRID}?status=created", {**page, "confirm_action": "yes", "selected_up_to": hidden["selected_up_to"],
                                          "shown_count": hidden["shown_count"]})
    return BulkJob.objects.get()


def job_page(client, job) -> str:
    return html.unescape(client.get(reverse("admin:orders_bulkjob_change", args=[job.pk])).content.decode())


@pytest.mark.postgres
def test_an_estimated_count_is_said_to_be_one_and_the_job_page_says_what_it_counted_and_took(
        operator_client, walmart_account, monkeypatch):
    # Every result counts as large, and runs as a background job whatever the (tiny) estimate says.
    monkeypatch.setattr(EstimatedCountPaginator, "exact_below", 0)
    monkeypatch.setattr("orders.admin.INLINE_LIMIT", 0)
    orders = [create_order(account=walmart_account, status=OrderStatus.CREATED) for _ in range(3)]
    page = {**SELECT_ALL, "_selected_action": [orders[0].pk]}

    asked = operator_client.post(f"{GRID}?status=created", page)

    page_text = html.unescape(asked.content.decode())
    [estimate] = re.findall(r"Acknowledge on about <strong>(\d+)</strong> order", page_text)
    assert "the database's estimate for a selection this large" in page_text
    job = confirm(operator_client, page, asked)
    assert (job.shown_count, job.shown_as_estimate) == (int(estimate), True)
    assert "the job counts them exactly when it starts." in job_page(operator_client, job)

    job = bulk_job_run(job_id=job.pk)

    assert (job.counted_at_start, job.processed, job.total) == (3, 3, 3)
    expected = (f"The confirmation page said about {int(estimate):,} order{'' if estimate == '1' else 's'}, the "
                "database's estimate for a selection this large; counted exactly when the job started, they were 3.")
    assert bulk_job_count_note(job) == expected
    assert expected in job_page(operator_client, job)


def test_a_count_that_agrees_says_so(operator_client, walmart_account, monkeypatch):
    monkeypatch.setattr("orders.admin.INLINE_LIMIT", 2)
    orders = [create_order(account=walmart_account, status=OrderStatus.CREATED) for _ in range(3)]
    page = {**SELECT_ALL, "_selected_action": [orders[0].pk]}
    asked = operator_client.post(f"{GRID}?status=created", page)
    assert "Acknowledge on <strong>3</strong> orders" in asked.content.decode()

    job = bulk_job_run(job_id=confirm(operator_client, page, asked).pk)

    assert (job.shown_count, job.shown_as_estimate, job.counted_at_start) == (3, False, 3)
    assert bulk_job_count_note(job) == ""
    assert "3, as the confirmation page said." in job_page(operator_client, job)


def filter_job(*, filters: dict, orders: list[Order], shown: int) -> BulkJob:
    return run_action(name="acknowledge", filters=filters, params={}, user=None, up_to_order_id=orders[-1].pk,
                      shown_count=shown)


def stopped_after_first(job: BulkJob, first: Order, *, counted: int) -> None:
    """As a worker leaves a job it died in: counted, its first order done."""
    BulkJob.objects.filter(pk=job.pk).update(state=BulkJob.State.RUNNING, total=counted, counted_at_start=counted,
                                             processed=1, last_order_id=first.pk)


def test_the_job_page_says_when_orders_stopped_matching_before_their_turn(walmart_account):
    orders = [create_order(account=walmart_account, status=OrderStatus.CREATED) for _ in range(3)]
    job = filter_job(filters={"status": [OrderStatus.CREATED]}, orders=orders, shown=3)
    stopped_after_first(job, orders[0], counted=3)
    Order.objects.filter(pk=orders[1].pk).update(status=OrderStatus.CANCELED)  # canceled on the channel meanwhile

    job = bulk_job_run(job_id=job.pk)

    assert (job.counted_at_start, job.processed, job.total) == (3, 2, 2)  # the list reads "2 / 2"
    assert bulk_job_count_note(job) == "It took 2: 1 no longer matched the filters when their turn came."


def test_the_job_page_says_when_orders_came_to_match_while_it_ran(walmart_account):
    first, meanwhile, last = [create_order(account=walmart_account, status=OrderStatus.CREATED) for _ in range(3)]
    Order.objects.filter(pk__in=[first.pk, last.pk]).update(sync_state=SyncState.ERROR)
    job = filter_job(filters={"sync_error": ["true"]}, orders=[first, meanwhile, last], shown=2)
    stopped_after_first(job, first, counted=2)
    Order.objects.filter(pk=meanwhile.pk).update(sync_state=SyncState.ERROR)  # a sync error while it ran

    job = bulk_job_run(job_id=job.pk)

    assert (job.counted_at_start, job.processed, job.total) == (2, 3, 3)
    assert bulk_job_count_note(job) == ("It took 3: 1 more came to match the filters while it ran (none newer "
                                        "than the confirmation page).")


def test_a_selection_taken_at_the_click_says_when_it_differs_from_the_page(operator_client, walmart_account):
    orders = [create_order(account=walmart_account, status=OrderStatus.CREATED) for _ in range(2)]
    page = {**SELECT_ALL, "_selected_action": [orders[0].pk]}
    asked = operator_client.post(f"{GRID}?status=created", page)
    Order.objects.filter(pk=orders[1].pk).update(status=OrderStatus.CANCELED)  # between the page and the click

    job = confirm(operator_client, page, asked)

    assert (job.shown_count, job.total) == (2, 1)
    assert "The confirmation page counted 2 orders; 1 matched when it was confirmed." in job_page(operator_client, job)
