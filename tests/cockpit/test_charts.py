"""Issue 15 §3: charts drawn on the server as SVG from the daily figures, a fixed number of queries."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cockpit.charts import bar_chart, line_chart
from cockpit.stats import stats_refresh
from orders.models import OrderStatus
from tests.factories import ChannelAccountFactory, ShipmentFactory, create_order

pytestmark = pytest.mark.django_db
PAGE = reverse("admin:cockpit_charts")


def test_the_page_shows_every_chart_as_inline_svg(viewer_client, walmart_account):
    walmart_account.title = "Walmart <b>US</b>"
    walmart_account.save()
    order = create_order(account=walmart_account, status=OrderStatus.SHIPPED,
                         sale_date=timezone.now() - dt.timedelta(days=2))
    ShipmentFactory(order=order, shipped_at=order.sale_date + dt.timedelta(hours=5))
    stats_refresh(days=90)
    response = viewer_client.get(PAGE)
    body = response.content.decode()
    assert response.status_code == 200
    assert body.count("<svg") >= 5 and "<script" not in body.split("<body")[1].split("</footer>")[0]
    for title in ("Orders per day", "Time from sale to shipment", "sale on the channel → imported",
                  "change queued → confirmed", "Channel action failures per day"):
        assert title in body
    assert "Walmart <b>US</b>" not in body and "Walmart &lt;b&gt;US&lt;/b&gt;" in body
    assert "<title>Walmart, 0–12 h: 1</title>" in body  # the shipment, in its bucket


def test_charts_scale_to_their_data():
    svg = line_chart(title="t", counted="orders", days=[dt.date(2026, 1, d) for d in (1, 2, 3)],
                     series={"a": [0, 50, 100]})
    assert 'points="48.0,190.0 ' in svg and ",12.0" in svg  # 0 on the axis, 100 at the top
    assert "rotate(-90)" in svg and ">orders</text>" in svg and "No data yet" not in svg
    assert "No data yet" in bar_chart(title="t", counted="orders", buckets=["x", "y"], series={})
    assert "No data yet" in line_chart(title="t", counted="orders", days=[dt.date(2026, 1, 1)], series={"a": [0]})


def test_a_90_day_chart_labels_a_day_about_every_fortnight():
    days = [dt.date(2026, 9, 5) + dt.timedelta(days=n) for n in range(90)]
    svg = line_chart(title="t", counted="orders", days=days, series={"a": [1] * 90})
    assert svg.count('font-size="11" fill="#555">Sep 05<') == 1 and ">Dec 03<" in svg
    assert sum(svg.count(f">{day:%b %d}<") for day in days) == 7


def test_the_page_runs_a_fixed_number_of_queries(viewer_client, walmart_account):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert viewer_client.get(PAGE).status_code == 200
        return len(captured)

    stats_refresh(days=3)
    few = queries()
    ChannelAccountFactory.create_batch(3)
    for days_ago in range(0, 80, 7):
        create_order(account=walmart_account, sale_date=timezone.now() - dt.timedelta(days=days_ago))
    stats_refresh(days=90)
    assert queries() == few
