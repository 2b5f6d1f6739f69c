"""Issue 10 §6: one date-time format everywhere an operator reads one — grid, detail page, Order Log
(with seconds), CSV (ISO 8601) — in the operators' time zone (settings.TIME_ZONE) with the zone shown."""

import datetime as dt

import pytest
from django.urls import reverse

from orders.models import Order, OrderLog
from tests.factories import create_order

pytestmark = pytest.mark.django_db
# New York is on daylight time (EDT) by then; with microseconds, as channels send them (never exported).
SOLD = dt.datetime(2026, 3, 10, 15, 4, 5, 548000, tzinfo=dt.UTC)


@pytest.fixture
def new_york_order(settings, walmart_account):
    settings.TIME_ZONE = "America/New_York"
    order = create_order(account=walmart_account)
    Order.objects.filter(pk=order.pk).update(sale_date=SOLD, ship_by_date=SOLD + dt.timedelta(days=2))
    log = OrderLog.objects.create(order=order, message="Order imported.")
    OrderLog.objects.filter(pk=log.pk).update(created_at=SOLD)
    return order


def test_grid_shows_the_date_over_the_time_and_zone(operator_client, new_york_order):
    html = operator_client.get(reverse("admin:orders_order_changelist")).content.decode()
    assert '<div class="line">2026-03-10</div><div class="line second">11:04 EDT</div>' in html


def test_detail_page_and_order_log_use_the_same_format(operator_client, new_york_order):
    html = operator_client.get(reverse("admin:orders_order_change", args=[new_york_order.pk])).content.decode()
    assert "<tr><th>Sale time</th><td>2026-03-10 11:04 EDT</td></tr>" in html
    assert "<tr><th>Ship by date</th><td>2026-03-12 11:04 EDT</td></tr>" in html
    assert "<tr><td>2026-03-10 11:04:05 EDT</td><td>Order imported.</td>" in html  # the Order Log, with seconds
    log_list = operator_client.get(reverse("admin:orders_orderlog_changelist")).content.decode()
    assert ">2026-03-10 11:04:05 EDT</a></th>" in log_list


def test_csv_export_writes_iso_8601_with_the_offset(operator_client, new_york_order):
    export = b"".join(operator_client.get(reverse("admin:orders_order_export")).streaming_content).decode()
    row = export.splitlines()[1]
    assert row.startswith("2026-03-10T11:04:05-04:00,2026-03-12T11:04:05-04:00,")


def test_the_time_zone_defaults_to_utc(operator_client, walmart_account):
    order = create_order(account=walmart_account)
    Order.objects.filter(pk=order.pk).update(sale_date=SOLD, ship_by_date=SOLD)
    html = operator_client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert "2026-03-10 15:04 UTC" in html
