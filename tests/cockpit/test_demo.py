"""The demo (`make run`) gives the cockpit late, at-risk and drifted orders and a history to chart."""

import datetime as dt

import pytest
from django.urls import reverse

from cockpit.demo import add_cockpit_demo
from cockpit.models import DailyAccountStats, Discrepancy
from orders.models import Order
from tests.orders.test_commands import demo_state  # noqa: F401 (the sandbox seed_demo runs on)

pytestmark = pytest.mark.django_db


def test_the_demo_fills_every_cockpit_page(viewer_client, walmart_account, amazon_account):
    added = add_cockpit_demo(history_per_day=1)
    assert added > 100
    total = viewer_client.get(reverse("admin:index")).context["today_total"].counts
    for column in ("to_acknowledge", "ship_today", "overdue", "auto_cancel_risk", "cancel_requests", "failed",
                   "discrepancies"):
        assert total[column].value > 0, column
    assert Discrepancy.objects.filter(resolved_at__isnull=True).count() == 6
    fields = {d["field"] for discrepancy in Discrepancy.objects.all() for d in discrepancy.differences}
    assert {"status", "shipped", "canceled", "refunded"} <= fields
    assert DailyAccountStats.objects.filter(orders__gt=0).count() > 100
    performance = viewer_client.get(reverse("admin:cockpit_performance"))
    assert performance.status_code == 200 and b"breached" in performance.content
    assert viewer_client.get(reverse("admin:cockpit_charts")).status_code == 200

    orders = Order.objects.count()
    assert add_cockpit_demo() == 0 and Order.objects.count() == orders  # a second run adds nothing


def _times_out_of_order() -> dict[str, list[str]]:
    """Each rule of time the demo's rows must keep (nothing happens to an order before it is sold, nor
    after now; the channel's last change is not older than a shipment it reports), with the channel
    order numbers breaking it."""
    from django.db.models import F
    from django.utils import timezone

    from orders.models import ChannelAction, OrderLog, Shipment

    now = timezone.now() + dt.timedelta(seconds=5)  # rows written while the check runs
    sold = F("order__sale_date")
    checks = {
        "sold in the future": Order.objects.filter(sale_date__gt=now),
        "changed on the channel before it was sold": Order.objects.filter(channel_updated_at__lt=F("sale_date")),
        "changed on the channel in the future": Order.objects.filter(channel_updated_at__gt=now),
        "read from the channel before it was sold": Order.objects.filter(channel_read_at__lt=F("sale_date")),
        "imported before it was sold": Order.objects.filter(created_at__lt=F("sale_date")),
        "changed here before it was sold": Order.objects.filter(updated_at__lt=F("sale_date")),
        "acknowledged before it was sold": Order.objects.filter(acknowledged_at__lt=F("sale_date")),
        "store order before it was sold": Order.objects.filter(store_order_created_at__lt=F("sale_date")),
        "ship-by before it was sold": Order.objects.filter(ship_by_date__lt=F("sale_date")),
        "shipped before it was sold": Shipment.objects.filter(shipped_at__lt=sold),
        "shipped in the future": Shipment.objects.filter(shipped_at__gt=now),
        "the channel's last change older than a shipment it reports": Shipment.objects.filter(
            source=Shipment.Source.CHANNEL, shipped_at__gt=F("order__channel_updated_at")),
        "channel action queued before it was sold": ChannelAction.objects.filter(created_at__lt=sold),
        "channel action done before it was queued": ChannelAction.objects.filter(completed_at__lt=F("created_at")),
        "Order Log line before it was sold": OrderLog.objects.filter(created_at__lt=sold),
        "difference seen before it was sold": Discrepancy.objects.filter(first_seen_at__lt=sold),
        "difference seen last before first": Discrepancy.objects.filter(last_seen_at__lt=F("first_seen_at")),
    }
    found = {}
    for rule, rows in checks.items():
        path = "channel_order_id" if rows.model is Order else "order__channel_order_id"
        if numbers := sorted(rows.values_list(path, flat=True).distinct()[:5]):
            found[rule] = numbers
    return found


def _sandbox_times_out_of_order(sandbox) -> dict[str, list[str]]:
    """The same rules on the sandbox's side: what Walmart and Amazon would send for the demo's orders."""
    import datetime

    found: dict[str, list[str]] = {}
    for po, order in sandbox.walmart.orders.items():
        shipped = [datetime.datetime.fromtimestamp(package["trackingInfo"]["shipDateTime"] / 1000, tz=datetime.UTC)
                   for line in order.lines for package in line.packages]
        for rule, broken in (("Walmart: modified before it was sold", order.last_modified < order.order_date),
                             ("Walmart: ship-by before it was sold", order.ship_by < order.order_date),
                             ("Walmart: shipped before it was sold",
                              any(when < order.order_date - dt.timedelta(seconds=1) for when in shipped)),
                             ("Walmart: modified before it was shipped",
                              any(when > order.last_modified + dt.timedelta(seconds=1) for when in shipped))):
            if broken:
                found.setdefault(rule, []).append(po)
    for order_id, order in sandbox.amazon.orders.items():
        if order.last_update < order.purchase_date:
            found.setdefault("Amazon: updated before it was sold", []).append(order_id)
    return found


def test_the_cockpit_demo_keeps_its_times_in_order(walmart_account, amazon_account):
    """The outside tester found demo orders changed on the channel before they were sold."""
    add_cockpit_demo(history_per_day=2)
    assert _times_out_of_order() == {}


def test_the_make_run_demo_keeps_its_times_in_order(demo_state):  # noqa: F811
    """seed_demo's orders, on both sides: ours as imported, and the sandbox's it was made from (the
    two Walmart orders changed behind our back included)."""
    from django.core.management import call_command

    from channels.sandbox.server import Sandbox

    call_command("seed_demo", orders=120, state=demo_state)
    assert Discrepancy.objects.filter(resolved_at__isnull=True).count() == 2  # the drift is in the data
    assert _times_out_of_order() == {}
    assert _sandbox_times_out_of_order(Sandbox.load(demo_state)) == {}
