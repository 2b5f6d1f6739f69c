"""Issue 10 §2: the status shown is what the channel confirmed plus what is on its way; a bulk job is
Done only once the channel actions it queued are settled."""

import re

import pytest
from django.urls import reverse

from orders import actions, outbox
from orders.actions import bulk_job_run
from orders.admin import status_html
from orders.models import BulkJob, ChannelAction, Order, OrderStatus
from orders.selectors import order_detail
from orders.services.cancel import order_cancel
from orders.services.shipments import Tracking, order_ship
from tests.helpers import drain_actions, ups_tracking

pytestmark = pytest.mark.django_db
UPS = Tracking(carrier="UPS", tracking_number="1Z999AA10123456784")


@pytest.fixture
def walmart_orders(import_walmart_orders):
    return import_walmart_orders(3)


def shown(order: Order) -> str:
    return str(status_html(order_detail(order_id=order.pk), may_retry=True))


def test_queued_ship_shows_confirmed_status_and_what_is_on_its_way(walmart_orders):
    order = walmart_orders[0]
    actions.ACTIONS["acknowledge"].service(order_id=order.pk)
    drain_actions()
    order_ship(order_id=order.pk, tracking=UPS)
    assert Order.objects.get(pk=order.pk).status == OrderStatus.SHIPPED  # the local change is made
    html = shown(order)
    assert ">Unshipped → Shipped</span>" in html and ">waiting for Walmart</span>" in html
    assert 'title="Unshipped → Shipped, waiting for Walmart"' in html
    drain_actions()
    assert "Shipped" in shown(order) and "→" not in shown(order) and "Waiting" not in shown(order)


def test_failed_ship_leaves_the_confirmed_status_with_the_error_and_retry(sandbox, walmart_orders, fast_retries):
    order = walmart_orders[0]
    sandbox.faults.add(kind="503", path="/shipping$", count=10)
    order_ship(order_id=order.pk, tracking=UPS)  # acknowledges first (lands), then ships (fails)
    drain_actions()
    html = shown(order)
    assert '<div class="line"><span class="order-status" style="color:#c77c02">Unshipped</span></div>' in html
    assert "Error: Ship (UPS 1Z999AA10123456784)" in html
    assert reverse("admin:orders_order_action", args=[order.pk, "retry_failed_sync"]) in html


def test_failed_acknowledge_shows_created(sandbox, walmart_orders, fast_retries):
    order = walmart_orders[0]
    sandbox.faults.add(kind="503", path="/acknowledge$", count=10)
    actions.ACTIONS["acknowledge"].service(order_id=order.pk)
    assert ">Created → Unshipped</span>" in shown(order)
    drain_actions()
    assert '<div class="line"><span class="order-status" style="color:#31708f">Created</span></div>' in shown(order)


def test_bulk_job_is_done_only_when_its_channel_actions_are_settled(
    operator_client, sandbox, walmart_orders, fast_retries
):
    sandbox.faults.add(kind="503", path=f"{walmart_orders[0].channel_order_id}/acknowledge$", count=4)  # every attempt
    job = BulkJob.objects.create(action="acknowledge", label="Acknowledge", order_ids=[o.pk for o in walmart_orders],
                                 total=len(walmart_orders))
    bulk_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == BulkJob.State.WAITING and job.finished_at is None
    assert ChannelAction.objects.filter(bulk_job=job).count() == 3
    page = operator_client.get(reverse("admin:orders_bulkjob_change", args=[job.pk])).content.decode()
    assert "Waiting for the channel: 3" in page and "3 queued" in page

    drain_actions()
    job.refresh_from_db()
    assert job.state == BulkJob.State.SOME_FAILED and job.finished_at is not None  # not Done: one failed
    page = operator_client.get(reverse("admin:orders_bulkjob_change", args=[job.pk])).content.decode()
    assert "Finished, some failed on the channel" in page
    assert "On the channel: 2 done, 1 failed, 0 waiting." in page
    assert "Failed: 1" in page and "Done: 2" in page
    assert reverse("admin:orders_order_change", args=[walmart_orders[0].pk]) in page

    retry_url = reverse("admin:orders_bulkjob_retry", args=[job.pk])
    confirmation = operator_client.get(retry_url).content.decode()
    assert walmart_orders[0].channel_order_id in confirmation and walmart_orders[1].channel_order_id not in confirmation
    response = operator_client.post(retry_url, {"confirm_action": "yes"}, follow=True)
    assert [str(m) for m in response.context["messages"]] == ["Retry Failed Sync: queued."]
    job.refresh_from_db()
    assert job.state == BulkJob.State.WAITING  # retried: waiting for the channel again
    drain_actions()
    job.refresh_from_db()
    assert job.state == BulkJob.State.DONE
    assert sum(po.acknowledged for po in sandbox.walmart.orders.values()) == 3


def test_channel_actions_list_links_orders_and_retries_the_failed_ones(
    operator_client, sandbox, walmart_orders, fast_retries
):
    sandbox.faults.add(kind="503", path="/acknowledge$", count=8)  # every attempt of two orders
    for order in walmart_orders[:2]:
        actions.ACTIONS["acknowledge"].service(order_id=order.pk)
    drain_actions()
    changelist = reverse("admin:orders_channelaction_changelist")
    page = operator_client.get(changelist, {"state__exact": "failed"}).content.decode()
    for order in walmart_orders[:2]:
        assert f'<a href="{reverse("admin:orders_order_change", args=[order.pk])}">{order.channel_order_id}</a>' in page
    selected = list(ChannelAction.objects.filter(state="failed").values_list("pk", flat=True))
    form = {"action": "retry_failed_action", "_selected_action": selected, "index": "0"}
    confirmation = operator_client.post(changelist, form).content.decode()
    assert "Retry Failed Sync on <strong>2</strong> orders" in confirmation
    response = operator_client.post(changelist, {**form, "confirm_action": "yes"}, follow=True)
    assert [str(m) for m in response.context["messages"]] == ["Retry Failed Sync: 2 queued, 0 skipped."]
    drain_actions()
    assert sum(po.acknowledged for po in sandbox.walmart.orders.values()) == 2


def grid_ids(client, **params) -> set[int]:
    return {order.pk for order in client.get(reverse("admin:orders_order_changelist"), params).context["cl"].result_list}


def test_status_filter_and_export_say_what_the_status_column_says(operator_client, sandbox, walmart_orders,
                                                                  fast_retries):
    """A change on its way: found under the status it heads for (the grid's "Unshipped → Shipped");
    a failed one: under the status the channel confirmed (the grid's "Unshipped" with the error)."""
    on_its_way, failed, untouched = walmart_orders
    for order in walmart_orders:
        actions.ACTIONS["acknowledge"].service(order_id=order.pk)
    drain_actions()
    sandbox.faults.add(kind="503", path=f"/{failed.channel_order_id}/shipping$", count=10)
    order_ship(order_id=failed.pk, tracking=UPS)
    drain_actions()
    order_ship(order_id=on_its_way.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(7)))
    assert Order.objects.get(pk=failed.pk).status == OrderStatus.SHIPPED  # the local change stays made

    assert grid_ids(operator_client, status="shipped") == {on_its_way.pk}
    assert grid_ids(operator_client, status="unshipped") == {failed.pk, untouched.pk}

    export = b"".join(operator_client.get(reverse("admin:orders_order_export")).streaming_content).decode()
    rows = {line.split(",")[6]: line for line in export.splitlines()[1:]}
    assert "Unshipped → Shipped, waiting for Walmart" in rows[on_its_way.channel_order_id]
    assert ",Unshipped,Error," in rows[failed.channel_order_id]
    assert ",Unshipped,In sync," in rows[untouched.channel_order_id]


def items_cells(operator_client, order: Order, column: str) -> list[str]:
    html = operator_client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    return re.findall(rf'<td class="[^"]*\bqty-{column}\b[^"]*">(.*?)</td>', html)


def test_the_items_table_shows_shipped_units_as_the_channel_confirmed_them(operator_client, sandbox, walmart_orders,
                                                                          fast_retries):
    """A failed ship leaves its units unshipped on the channel: the Items table says so, and the Order
    Log never said the status changed — only that it would once Walmart confirms."""
    order = walmart_orders[0]
    sandbox.faults.add(kind="503", path="/shipping$", count=10)
    order_ship(order_id=order.pk, tracking=UPS)
    [cell] = items_cells(operator_client, order, "shipped")
    assert cell.startswith("0 ") and "+1 waiting for Walmart" in cell

    drain_actions()

    [cell] = items_cells(operator_client, order, "shipped")
    assert cell.startswith("0 ") and "1 not shipped: sending failed" in cell and "waiting" not in cell
    messages = list(order.logs.values_list("message", flat=True))
    assert "Status to change from Unshipped to Shipped once Walmart confirms." in messages
    assert not any(message.startswith("Status changed") for message in messages)

    sandbox.faults.clear()
    outbox.order_retry_failed_actions(order_id=order.pk)
    drain_actions()
    assert items_cells(operator_client, order, "shipped") == ["1"]


def test_the_items_table_shows_a_cancellation_on_its_way(operator_client, sandbox, walmart_orders):
    order = walmart_orders[0]
    order_cancel(order_id=order.pk, reason="SELLER_CANCEL_OUT_OF_STOCK")
    [cell] = items_cells(operator_client, order, "canceled")
    assert cell.startswith("0 ") and "+1 waiting for Walmart" in cell
    assert order.logs.filter(message__startswith="Cancellation requested: ").exists()
    drain_actions()
    assert items_cells(operator_client, order, "canceled") == ["1"]
