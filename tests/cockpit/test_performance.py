"""Issue 15 §2: seller performance per account over 7/30/90 days from our own orders (the daily
figures of cockpit.stats), beside the channel's threshold, red beyond it, each count a link to the
orders that count against the rate."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cockpit import standards
from cockpit.models import DailyAccountStats
from cockpit.stats import stats_refresh
from orders.models import ChannelAction, Order, OrderItem, OrderLog, OrderStatus, Shipment
from tests.factories import ChannelActionFactory, ShipmentFactory, create_order

pytestmark = pytest.mark.django_db
PAGE = reverse("admin:cockpit_performance")


def _sold(account, *, days_ago, status=OrderStatus.SHIPPED, shipped_after_hours=10, tracking="1Z999AA10123456784",
          **fields):
    now = timezone.now()
    sale = now - dt.timedelta(days=days_ago)
    order = create_order(account=account, status=status, sale_date=sale, ship_by_date=sale + dt.timedelta(days=1),
                         n_items=1, **fields)
    if status == OrderStatus.SHIPPED:
        ShipmentFactory(order=order, shipped_at=sale + dt.timedelta(hours=shipped_after_hours), tracking_number=tracking)
    return order


@pytest.fixture
def history(walmart_account):
    """Walmart, sold 2 and 20 days ago: 10 good orders, one shipped late (20 d), one without tracking
    (2 d), one canceled by the seller (2 d), one canceled at the buyer's request (20 d), one refunded (20 d)."""
    good = [_sold(walmart_account, days_ago=2 if n < 5 else 20) for n in range(10)]
    late = _sold(walmart_account, days_ago=20, shipped_after_hours=40)
    untracked = _sold(walmart_account, days_ago=2, tracking="")
    seller_canceled = _sold(walmart_account, days_ago=2, status=OrderStatus.CANCELED)
    buyer_canceled = _sold(walmart_account, days_ago=20, status=OrderStatus.CANCELED)
    OrderItem.objects.filter(order=buyer_canceled).update(buyer_cancel_requested=True)
    refunded = _sold(walmart_account, days_ago=20)
    Order.objects.filter(pk=refunded.pk).update(refunded_total=Decimal("1.00"))
    stats_refresh(days=90)
    return {"good": good, "late": late, "untracked": untracked, "seller_canceled": seller_canceled,
            "buyer_canceled": buyer_canceled, "refunded": refunded}


def _rates(response, account, days):
    entry = next(entry for entry in response.context["accounts"] if entry.account == account)
    return {rate.name: rate for rate in entry.windows[days]}


def _grid_ids(client, url):
    return {order.pk for order in client.get(url + "&all=").context["cl"].result_list}


def test_rates_per_window_beside_the_channels_threshold(viewer_client, history, walmart_account):
    response = viewer_client.get(PAGE)
    week, month = _rates(response, walmart_account, 7), _rates(response, walmart_account, 30)
    # due in the week: 5 good + untracked (the canceled ones never count as late); none late
    assert (week["on_time"].against, week["on_time"].out_of, week["on_time"].percent) == (0, 6, Decimal("100.0"))
    # the month adds 5 good, the late one and the refunded one: 1 late of 13
    assert (month["on_time"].against, month["on_time"].out_of) == (1, 13)
    assert month["on_time"].percent == Decimal("92.3") and month["on_time"].breached  # Walmart wants ≥ 99%
    assert (week["valid_tracking"].against, week["valid_tracking"].out_of) == (1, 6)
    assert (week["cancellation"].against, week["cancellation"].out_of) == (1, 7)
    assert (month["cancellation"].against, month["cancellation"].out_of) == (1, 15)  # the buyer's is not ours
    assert (month["refund"].against, month["refund"].percent) == (1, Decimal("6.7"))
    assert month["refund"].breached  # Walmart: < 6%
    assert week["refund"].percent == Decimal("0.0") and not week["refund"].breached
    assert week["on_time"].threshold == standards.THRESHOLDS["walmart"]["on_time"]
    assert b'class="window-30 breached"' in response.content


def test_each_count_links_to_the_orders_that_count_against_it(viewer_client, history, walmart_account):
    month = _rates(viewer_client.get(PAGE), walmart_account, 30)
    assert _grid_ids(viewer_client, month["on_time"].url) == {history["late"].pk}
    assert _grid_ids(viewer_client, month["valid_tracking"].url) == {history["untracked"].pk}
    assert _grid_ids(viewer_client, month["cancellation"].url) == {history["seller_canceled"].pk}
    assert _grid_ids(viewer_client, month["refund"].url) == {history["refunded"].pk}


def test_each_count_says_what_the_orders_it_counts_did(viewer_client, history, walmart_account):
    """Beside "92.3%" on time, "1 of 13" read as 1 on time: the count says it is the late ones."""
    html = viewer_client.get(PAGE).content.decode()
    table = html[html.index(f'data-account="{walmart_account.pk}"'):]
    cells = {name: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", cell)).strip()
             for name, cell in re.findall(r'<tr class="rate-(\w+)">.*?<td class="window-30[^"]*">(.*?)</td>',
                                          table[:table.index("</table>")], re.S)}
    assert cells["on_time"] == "92.3% 1 of 13 late or not shipped"
    assert cells["valid_tracking"].endswith("1 of 13 without valid tracking")
    assert cells["cancellation"].endswith("1 of 15 canceled by us")
    assert cells["refund"] == "6.7% 1 of 15 refunded"
    assert 'title="Not shipped by their ship-by date: 1. Orders whose ship-by date fell in the window: 13."' in table


def test_an_order_not_shipped_past_its_ship_by_date_counts_as_late(viewer_client, walmart_account):
    overdue = _sold(walmart_account, days_ago=3, status=OrderStatus.UNSHIPPED)
    stats_refresh(days=7)
    week = _rates(viewer_client.get(PAGE), walmart_account, 7)
    assert (week["on_time"].against, week["on_time"].out_of) == (1, 1)
    assert _grid_ids(viewer_client, week["on_time"].url) == {overdue.pk}


def test_amazon_has_no_published_refund_threshold(viewer_client, amazon_account):
    _sold(amazon_account, days_ago=1)
    stats_refresh(days=7)
    rates = _rates(viewer_client.get(PAGE), amazon_account, 7)
    assert rates["refund"].threshold is None and not rates["refund"].breached
    assert rates["on_time"].threshold.percent == Decimal("96")  # late shipment rate < 4%


def test_refresh_rewrites_days_whose_orders_changed(walmart_account):
    order = _sold(walmart_account, days_ago=1)
    stats_refresh(days=3)
    row = DailyAccountStats.objects.get(account=walmart_account, day=timezone.localdate(order.sale_date))
    assert (row.orders, row.refunded_orders) == (1, 0)
    Order.objects.filter(pk=order.pk).update(refunded_total=Decimal("2.00"))
    stats_refresh(days=3)
    row.refresh_from_db()
    assert row.refunded_orders == 1
    assert DailyAccountStats.objects.filter(account=walmart_account).count() == 3  # every day written


def test_histograms_and_failures(walmart_account):
    order = _sold(walmart_account, days_ago=1, shipped_after_hours=30)  # 24–48 h bucket
    Order.objects.filter(pk=order.pk).update(created_at=order.sale_date + dt.timedelta(minutes=3))  # 1–5 min
    action = ChannelActionFactory(order=order, state=ChannelAction.State.SUCCEEDED)
    ChannelAction.objects.filter(pk=action.pk).update(completed_at=action.created_at + dt.timedelta(seconds=40))
    OrderLog.objects.create(order=order, type=OrderLog.Type.ERROR, message="Ship: failed")
    stats_refresh(days=3)
    sale_day = DailyAccountStats.objects.get(account=walmart_account, day=timezone.localdate(order.sale_date))
    assert sale_day.ship_hours == [0, 0, 1, 0, 0, 0]
    assert sale_day.import_minutes == [0, 1, 0, 0, 0, 0]
    today = DailyAccountStats.objects.get(account=walmart_account, day=timezone.localdate())
    assert today.confirm_seconds == [0, 0, 1, 0, 0, 0]  # 30–120 s
    assert today.failed_actions == 1


def test_the_page_runs_a_fixed_number_of_queries(viewer_client, walmart_account, amazon_account):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert viewer_client.get(PAGE).status_code == 200
        return len(captured)

    stats_refresh(days=3)
    few = queries()
    for days_ago in range(0, 60, 3):
        _sold(walmart_account, days_ago=days_ago)
        _sold(amazon_account, days_ago=days_ago, status=OrderStatus.UNSHIPPED)
    stats_refresh(days=90)
    assert queries() == few


def test_someone_without_order_access_cannot_open_it(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("nobody", is_staff=True))
    assert client.get(PAGE).status_code == 403
    assert Shipment.objects.count() == 0


def test_a_partly_shipped_order_with_units_left_past_its_ship_by_date_counts_as_late(viewer_client, walmart_account):
    """One unit shipped in time, the other still waiting after ship-by: late, as the channel sees it."""
    part = _sold(walmart_account, days_ago=3, status=OrderStatus.PARTIALLY_SHIPPED)
    ShipmentFactory(order=part, shipped_at=part.sale_date + dt.timedelta(hours=2))
    OrderItem.objects.filter(order=part).update(qty_ordered=2, qty_shipped=1)
    whole = _sold(walmart_account, days_ago=3)
    OrderItem.objects.filter(order=whole).update(qty_ordered=2, qty_shipped=1, qty_canceled=1)
    stats_refresh(days=7)
    week = _rates(viewer_client.get(PAGE), walmart_account, 7)
    assert (week["on_time"].against, week["on_time"].out_of) == (1, 2)
    assert _grid_ids(viewer_client, week["on_time"].url) == {part.pk}


def test_tracking_not_judged_says_so_instead_of_a_bare_dash(viewer_client, amazon_account):
    order = _sold(amazon_account, days_ago=2, tracking="")
    Shipment.objects.filter(order=order).update(source=Shipment.Source.CHANNEL)  # Seller Central, no tracking
    stats_refresh(days=7)
    html = viewer_client.get(PAGE).content.decode()
    row = html[html.index('class="rate-valid_tracking"'):]
    row = row[:row.index("</tr>")]
    assert row.count("not judged: no shipment with tracking of ours or the channel's") == 3  # 7, 30, 90 days


def test_a_count_of_nothing_measured_is_no_link_to_an_empty_list(viewer_client, amazon_account):
    """An order sold today has not reached its ship-by: "0 of 0" on-time is plain text, not a link."""
    _sold(amazon_account, days_ago=0)
    stats_refresh(days=7)
    page = " ".join(viewer_client.get(PAGE).content.decode().split())
    assert re.search(r'<span class="against" title="[^"]*">0 of 0 ', page)
    assert not re.search(r'<a href="[^"]*" class="against" title="[^"]*">0 of 0 ', page)
