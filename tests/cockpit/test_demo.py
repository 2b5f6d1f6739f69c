"""The demo (`make run`) gives the cockpit late, at-risk and drifted orders and a history to chart."""

import pytest
from django.urls import reverse

from cockpit.demo import add_cockpit_demo
from cockpit.models import DailyAccountStats, Discrepancy
from orders.models import Order

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
