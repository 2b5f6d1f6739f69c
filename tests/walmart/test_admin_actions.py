"""R-GRID-3 bulk actions for Walmart on the done/skipped framework, and the detail page's buttons."""

import re

import pytest
from django.urls import reverse

from orders import actions
from orders.actions import bulk_job_run
from orders.models import BulkJob, ChannelAction, Order, OrderStatus, Shipment, SyncState
from tests.factories import create_order
from tests.helpers import drain_actions, ups_tracking

pytestmark = pytest.mark.django_db
GRID = reverse("admin:orders_order_changelist")


def run_bulk(client, name, orders, **form):
    data = {"action": f"{name}_action", "_selected_action": [o.pk for o in orders], "confirm_action": "yes", **form}
    return client.post(GRID, data, follow=True)


JOB_LINK = re.compile(r' <a href="/admin/orders/bulkjob/\d+/change/">Follow what the channel says</a> on its bulk job\.$')


def messages_of(response):
    """The messages without the link to the bulk job that follows the channel's answers (tested in
    tests/orders/test_shipping_paths.py)."""
    return [JOB_LINK.sub("", str(m)) for m in response.context["messages"]]


@pytest.fixture
def walmart_orders(import_walmart_orders):
    return import_walmart_orders(3)


def test_acknowledge_bulk_action(operator_client, sandbox, walmart_orders):
    Order.objects.filter(pk=walmart_orders[0].pk).update(acknowledged_at="2026-01-01T00:00:00Z")
    response = run_bulk(operator_client, "acknowledge", walmart_orders)
    assert messages_of(response) == ["Acknowledge: 2 queued, 1 skipped (1 × already acknowledged)."]
    drain_actions()
    assert sum(po.acknowledged for po in sandbox.walmart.orders.values()) == 2


def test_mark_as_shipped_asks_for_carrier_and_tracking(operator_client, sandbox, walmart_orders):
    response = run_bulk(operator_client, "mark_shipped", walmart_orders, carrier="UPS", tracking_number="")
    assert response.status_code == 200 and "are you sure?" in response.content.decode()
    assert "This field is required." in response.content.decode()
    assert not Shipment.objects.exists()

    response = run_bulk(operator_client, "mark_shipped", walmart_orders, carrier="UPS", method="Standard",
                        tracking_number=ups_tracking(5), same_tracking_confirmed="on")
    assert messages_of(response) == ["Mark as Shipped: 3 queued, 0 skipped."]
    drain_actions()  # acknowledge first, then ship (Walmart order)
    assert all(po.lines[0].shipped == 1 and po.acknowledged for po in sandbox.walmart.orders.values())
    assert set(Order.objects.values_list("status", flat=True)) == {OrderStatus.SHIPPED}


def test_mark_as_shipped_with_other_carrier_needs_url(operator_client, walmart_orders):
    response = run_bulk(operator_client, "mark_shipped", walmart_orders[:1], carrier="other", other_carrier="Vans",
                        method="Standard", tracking_number="VANS-0001")
    assert "Another carrier needs a tracking URL (http:// or https://)." in response.content.decode()


def test_cancel_bulk_action_needs_a_reason_and_skips_what_it_cannot_cancel(operator_client, sandbox, walmart_orders):
    response = run_bulk(operator_client, "cancel", walmart_orders)
    assert "This field is required." in response.content.decode()
    Order.objects.filter(pk=walmart_orders[0].pk).update(status=OrderStatus.CANCELED)

    response = run_bulk(operator_client, "cancel", walmart_orders, reason="out_of_stock")

    assert messages_of(response) == ["Cancel: 2 queued, 1 skipped (1 × order is canceled)."]
    drain_actions()
    reasons = {line.cancellation_reason for po in sandbox.walmart.orders.values() for line in po.lines if line.cancelled}
    assert reasons == {"SELLER_CANCEL_OUT_OF_STOCK"}


def test_retry_failed_sync_bulk_action(operator_client, sandbox, walmart_orders, fast_retries):
    sandbox.faults.add(kind="503", path="/acknowledge$", count=4)
    run_bulk(operator_client, "acknowledge", walmart_orders[:1])
    drain_actions()
    assert Order.objects.get(pk=walmart_orders[0].pk).sync_state == SyncState.ERROR
    grid = operator_client.get(GRID, {"sync_error": "true"})
    assert [o.pk for o in grid.context["cl"].result_list] == [walmart_orders[0].pk]

    response = run_bulk(operator_client, "retry_failed_sync", walmart_orders)
    assert messages_of(response) == ["Retry Failed Sync: 1 queued, 2 skipped (2 × no failed channel action)."]
    drain_actions()
    assert Order.objects.get(pk=walmart_orders[0].pk).sync_state == SyncState.OK


def test_resend_shipping_bulk_action(operator_client, sandbox, walmart_orders):
    run_bulk(operator_client, "mark_shipped", walmart_orders[:1], carrier="UPS", method="Standard", tracking_number=ups_tracking(6))
    drain_actions()
    response = run_bulk(operator_client, "resend_shipping", walmart_orders)
    assert messages_of(response) == ["Resend Shipping Information: 1 queued, 2 skipped (2 × no shipment to resend)."]
    drain_actions()
    assert ChannelAction.objects.filter(kind="ship", state="succeeded").count() == 2


def test_large_selection_runs_in_the_background_with_progress(operator_client, walmart_account, monkeypatch):
    monkeypatch.setattr(actions, "INLINE_LIMIT", 5)
    orders = [create_order(account=walmart_account) for _ in range(12)]
    Order.objects.filter(pk=orders[0].pk).update(status=OrderStatus.CANCELED)

    response = run_bulk(operator_client, "create_store_order", orders)

    job = BulkJob.objects.get()
    assert "queued to run in the background on 12 orders" in messages_of(response)[0]
    assert job.total == 12 and job.processed == 0 and not Order.objects.filter(store_order_number__isnull=False).exists()
    bulk_job_run(job_id=job.pk)  # what the worker does
    job.refresh_from_db()
    assert (job.state, job.processed, job.done, job.skipped) == ("done", 12, 11, {"order is canceled": 1})
    page = operator_client.get(reverse("admin:orders_bulkjob_change", args=[job.pk])).content.decode()
    assert "12 / 12" in page and "Create Store Order: 11 done, 1 skipped (1 × order is canceled)." in page


def test_detail_page_buttons(operator_client, sandbox, walmart_orders):
    order = walmart_orders[0]
    url = reverse("admin:orders_order_change", args=[order.pk])
    html = operator_client.get(url).content.decode()
    for button in ('id="create-store-order"', 'id="acknowledge"', 'id="mark-shipped"', 'id="cancel-order"'):
        assert button in html
    form = operator_client.get(reverse("admin:orders_order_action", args=[order.pk, "mark_shipped"])).content.decode()
    assert 'name="tracking_number"' in form
    response = operator_client.post(
        reverse("admin:orders_order_action", args=[order.pk, "mark_shipped"]),
        {"confirm_action": "yes", "carrier": "FedEx", "method": "Express", "tracking_number": "123456789012"},
        follow=True,
    )
    assert messages_of(response) == ["Mark as Shipped: queued."]
    drain_actions()
    assert sandbox.walmart.orders[order.channel_order_id].lines[0].tracking["trackingNumber"] == "123456789012"
    assert 'id="resend-shipping"' in operator_client.get(url).content.decode()
