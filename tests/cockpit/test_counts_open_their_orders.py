"""Issue 15 §2: every count of the seller-performance page equals the number of orders its link opens,
for every rate, window and account (one definition, orders.filters.SELLER_METRICS, for both).

The orders sit a minute inside and a minute outside each window's first day, in a time zone other than
UTC, so counting days in another zone, by another date or over another window shows as a difference."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from cockpit import selectors, tasks
from cockpit.stats import stats_refresh
from orders.models import Order, OrderStatus, Shipment
from tests.factories import ShipmentFactory, create_order
from tests.orders.test_commands import demo_state  # noqa: F401 (the sandbox seed_demo runs on)

pytestmark = pytest.mark.django_db
PAGE = reverse("admin:cockpit_performance")
RATES = ("on_time", "valid_tracking", "cancellation", "refund")


@pytest.fixture(autouse=True)
def chicago(settings):
    """Six hours behind UTC in winter: a day counted in UTC would take in the evening before."""
    settings.TIME_ZONE = "America/Chicago"


def _local(day: dt.date, hour: int, minute: int, second: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute, second)))


def _late(account, *, ship_by: dt.datetime) -> Order:
    return create_order(account=account, status=OrderStatus.UNSHIPPED, n_items=1,
                        sale_date=ship_by - dt.timedelta(days=2), ship_by_date=ship_by)


def _sold(account, *, sale: dt.datetime, status=OrderStatus.SHIPPED, tracking="1Z999AA10123456784", **fields) -> Order:
    order = create_order(account=account, status=status, n_items=1, sale_date=sale,
                         ship_by_date=sale + dt.timedelta(days=2), **fields)
    if status == OrderStatus.SHIPPED:
        ShipmentFactory(order=order, shipped_at=sale + dt.timedelta(hours=5), tracking_number=tracking)
    return order


def _each_kind(account, *, sale: dt.datetime) -> dict[str, Order]:
    """One order counting against each rate, with the window's date at `sale`, and one good order."""
    refunded = _sold(account, sale=sale)
    Order.objects.filter(pk=refunded.pk).update(refunded_total=Decimal("3.00"))
    return {"on_time": _late(account, ship_by=sale), "valid_tracking": _sold(account, sale=sale, tracking=""),
            "cancellation": _sold(account, sale=sale, status=OrderStatus.CANCELED), "refund": refunded,
            "good": _sold(account, sale=sale)}


@pytest.fixture
def boundaries(walmart_account, amazon_account):
    """For both accounts and each window: its orders a minute after the first day began (inside) and a
    minute before (outside); and a few of today's."""
    today = timezone.localdate()
    orders = {}
    for account in (walmart_account, amazon_account):
        orders[account.pk, "today"] = _each_kind(account, sale=timezone.now() - dt.timedelta(minutes=1))
        for days in selectors.WINDOWS:
            first = today - dt.timedelta(days=days - 1)
            orders[account.pk, days, "inside"] = _each_kind(account, sale=_local(first, 0, 1))
            orders[account.pk, days, "outside"] = _each_kind(account, sale=_local(first, 0, 1) - dt.timedelta(minutes=2))
    tasks.refresh_stats()
    return orders


def _grid_ids(client, url: str) -> set[int]:
    return {order.pk for order in client.get(url + "&all=").context["cl"].result_list}


def _rates(client, account) -> dict[int, dict[str, selectors.Rate]]:
    entry = next(entry for entry in client.get(PAGE).context["accounts"] if entry.account == account)
    return {days: {rate.name: rate for rate in rates} for days, rates in entry.windows.items()}


@pytest.mark.parametrize("rate_name", RATES)
def test_each_count_is_the_number_of_orders_its_link_opens(viewer_client, boundaries, walmart_account,
                                                           amazon_account, rate_name):
    """The count beside each rate, in every window of every account, lists exactly the
    account's orders inside the window that count against it."""
    for account in (walmart_account, amazon_account):
        windows = _rates(viewer_client, account)
        for days in selectors.WINDOWS:
            rate = windows[days][rate_name]
            listed = _grid_ids(viewer_client, rate.url)
            expected = {boundaries[account.pk, "today"][rate_name].pk} | {
                boundaries[account.pk, window, "inside"][rate_name].pk for window in selectors.WINDOWS if window <= days
            } | {boundaries[account.pk, window, "outside"][rate_name].pk for window in selectors.WINDOWS if window < days}
            assert listed == expected, (account.title, days, rate_name)
            assert rate.against == len(listed), (account.title, days, rate_name)


def test_an_old_order_changed_after_it_was_counted_is_counted_again_by_the_next_refresh(
        viewer_client, walmart_account):
    """Beat's recount reaches back over the whole 90 days (a refund of an order sold 60
    days ago, a cancellation of one sold 20 days ago), not only the last days."""
    refunded = _sold(walmart_account, sale=timezone.now() - dt.timedelta(days=60))
    canceled = _sold(walmart_account, sale=timezone.now() - dt.timedelta(days=20), status=OrderStatus.UNSHIPPED)
    tasks.refresh_stats()
    Order.objects.filter(pk=refunded.pk).update(refunded_total=Decimal("5.00"))
    canceled.items.update(qty_canceled=F("qty_ordered"))
    Order.objects.filter(pk=canceled.pk).update(status=OrderStatus.CANCELED)
    tasks.refresh_stats()
    quarter = _rates(viewer_client, walmart_account)[90]
    assert _grid_ids(viewer_client, quarter["refund"].url) == {refunded.pk} and quarter["refund"].against == 1
    assert _grid_ids(viewer_client, quarter["cancellation"].url) == {canceled.pk}
    assert quarter["cancellation"].against == 1


def test_a_shipment_reported_by_the_channel_without_its_tracking_is_not_judged(viewer_client, amazon_account):
    """Amazon's order listing reports shipments made on Seller Central without their tracking: neither
    valid nor invalid, so they are not measured; one sent from here without tracking counts against."""
    reported = _sold(amazon_account, sale=timezone.now() - dt.timedelta(days=2), tracking="")
    Shipment.objects.filter(order=reported).update(source=Shipment.Source.CHANNEL)
    ours = _sold(amazon_account, sale=timezone.now() - dt.timedelta(days=2), tracking="")
    tracked = _sold(amazon_account, sale=timezone.now() - dt.timedelta(days=2))
    Shipment.objects.filter(order=tracked).update(source=Shipment.Source.CHANNEL)
    # Half sent from here with its tracking, half shipped on Seller Central: judged on our half only.
    split = _sold(amazon_account, sale=timezone.now() - dt.timedelta(days=2))
    ShipmentFactory(order=split, shipped_at=split.sale_date + dt.timedelta(hours=6), tracking_number="",
                    source=Shipment.Source.CHANNEL)
    stats_refresh(days=7)
    rate = _rates(viewer_client, amazon_account)[7]["valid_tracking"]
    assert (rate.against, rate.out_of) == (1, 3)
    assert _grid_ids(viewer_client, rate.url) == {ours.pk}


def test_the_make_run_demo_reads_believable_rates_that_open_their_orders(viewer_client, demo_state):  # noqa: F811
    """seed_demo's own orders, made and shipped in the sandbox and imported: counted at once, most
    shipped in time (a few late, as the demo means), every count opening its orders."""
    call_command("seed_demo", orders=160, state=demo_state)
    for entry in viewer_client.get(PAGE).context["accounts"]:
        for days, rates in entry.windows.items():
            for rate in rates:
                assert rate.against == len(_grid_ids(viewer_client, rate.url)), (entry.account.title, days, rate.name)
        month = {rate.name: rate for rate in entry.windows[30]}
        assert Decimal("75") < month["on_time"].percent < Decimal("100"), entry.account.title
        assert month["cancellation"].percent < Decimal("8"), entry.account.title


def test_an_order_amazon_says_cannot_be_fulfilled_is_never_late(viewer_client, amazon_account):
    """Unfulfillable (Amazon's multi-channel fulfillment orders) leaves the merchant nothing to ship."""
    _late(amazon_account, ship_by=timezone.now() - dt.timedelta(days=1))
    unfulfillable = _late(amazon_account, ship_by=timezone.now() - dt.timedelta(days=1))
    Order.objects.filter(pk=unfulfillable.pk).update(status=OrderStatus.UNFULFILLABLE)
    stats_refresh(days=7)
    rate = _rates(viewer_client, amazon_account)[7]["on_time"]
    assert (rate.against, rate.out_of) == (1, 1)
    assert unfulfillable.pk not in _grid_ids(viewer_client, rate.url)
