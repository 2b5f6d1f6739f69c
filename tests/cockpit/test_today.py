"""Issue 15 §1: the admin index is "Today": per account and in total, what is due and what went
wrong, every count a link to exactly the orders it counts (the grid's own filters)."""

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone

from cockpit.models import Discrepancy, ReconciliationRun
from cockpit.selectors import TODAY_COLUMNS
from orders.models import Fulfillment, ImportProblem, Order, OrderItem, OrderStatus, SyncState
from tests.factories import create_order

pytestmark = pytest.mark.django_db
INDEX = reverse("admin:index")


def _order(account, status, *, ship_by_in_hours, **fields):
    now = timezone.now()
    ship_by = now + dt.timedelta(hours=ship_by_in_hours)
    return create_order(account=account, status=status, sale_date=min(now, ship_by) - dt.timedelta(hours=1),
                        ship_by_date=ship_by, **fields)


@pytest.fixture
def day(walmart_account, amazon_account):
    """Orders of every kind Today counts, on two accounts; Walmart cancels 4 days after ship-by,
    this Amazon account is set to 2 business days."""
    amazon_account.auto_cancel_days = 2
    amazon_account.save()
    end_of_today = timezone.localtime().replace(hour=23, minute=59, second=59)
    hours_left_today = (end_of_today - timezone.localtime()).total_seconds() / 3600 / 2  # still today at 23:59
    orders = {
        "wm_created_future": _order(walmart_account, OrderStatus.CREATED, ship_by_in_hours=72),
        "wm_today": _order(walmart_account, OrderStatus.UNSHIPPED, ship_by_in_hours=hours_left_today),
        "wm_overdue_1d": _order(walmart_account, OrderStatus.UNSHIPPED, ship_by_in_hours=-30),
        "wm_at_risk": _order(walmart_account, OrderStatus.CREATED, ship_by_in_hours=-24 * 3 - 2),
        # 2 business days after ship-by 6 days ago have gone by whatever the weekday
        "az_at_risk": _order(amazon_account, OrderStatus.UNSHIPPED, ship_by_in_hours=-24 * 6),
        "az_cancel_request": _order(amazon_account, OrderStatus.UNSHIPPED, ship_by_in_hours=48,
                                    buyer_cancel_requested=True),
        "az_shipped_late": _order(amazon_account, OrderStatus.SHIPPED, ship_by_in_hours=-200),
        "az_channel_fulfilled_overdue": _order(amazon_account, OrderStatus.UNSHIPPED, ship_by_in_hours=-200,
                                               fulfillment=Fulfillment.CHANNEL),
        "wm_canceled_request": _order(walmart_account, OrderStatus.CANCELED, ship_by_in_hours=-5,
                                      buyer_cancel_requested=True),
    }
    Order.objects.filter(pk=orders["az_shipped_late"].pk).update(sync_state=SyncState.ERROR, sync_error="refused")
    now = timezone.now()
    ImportProblem.objects.create(account=walmart_account, channel_order_id="X1", fingerprint="X1", raw_payload="{}",
                                 error="unreadable", first_seen_at=now, last_seen_at=now)
    run = ReconciliationRun.objects.create(account=amazon_account, started_at=now, created_from=now)
    Discrepancy.objects.create(account=amazon_account, order=orders["az_shipped_late"], summary="status differs",
                               first_seen_at=now, last_seen_at=now, last_run=run)
    return orders


EXPECTED = {  # column → the orders it counts (Walmart first, then Amazon)
    "to_acknowledge": {"wm_created_future", "wm_at_risk"},
    "ship_today": {"wm_today"},
    "overdue": {"wm_overdue_1d", "wm_at_risk", "az_at_risk"},
    "auto_cancel_risk": {"wm_at_risk", "az_at_risk"},
    "cancel_requests": {"az_cancel_request"},
    "failed": {"az_shipped_late"},
}


def _linked_ids(client, url):
    response = client.get(url + "&all=")
    assert response.status_code == 200
    return {order.pk for order in response.context["cl"].result_list}


def test_each_count_is_exactly_the_orders_its_link_lists(viewer_client, day, walmart_account, amazon_account):
    response = viewer_client.get(INDEX)
    assert response.status_code == 200
    rows = {row.account.pk: row for row in response.context["today_rows"]}
    total = response.context["today_total"]
    for column, names in EXPECTED.items():
        wanted = {day[name].pk for name in names}
        assert total.counts[column].value == len(wanted), column
        assert _linked_ids(viewer_client, total.counts[column].url) == wanted, column
        for account in (walmart_account, amazon_account):
            own = {pk for pk in wanted if Order.objects.get(pk=pk).account_id == account.pk}
            figure = rows[account.pk].counts[column]
            assert figure.value == len(own), (column, account.title)
            assert _linked_ids(viewer_client, figure.url) == own, (column, account.title)
    assert rows[walmart_account.pk].counts["import_problems"].value == 1
    assert rows[amazon_account.pk].counts["discrepancies"].value == 1
    assert total.counts["not_in_sync"].value == 2  # neither account has ever imported


def test_an_order_with_nothing_left_to_ship_is_not_work_to_do(viewer_client, walmart_account):
    """Walmart shows 1 shipped + 1 canceled as Partially Shipped; nothing of it is to ship or overdue."""
    order = _order(walmart_account, OrderStatus.PARTIALLY_SHIPPED, ship_by_in_hours=-30, n_items=2)
    _shipped, rest = order.items.order_by("pk")  # the factory ships the first line
    OrderItem.objects.filter(pk=rest.pk).update(qty_canceled=rest.qty_ordered)
    still_open = _order(walmart_account, OrderStatus.PARTIALLY_SHIPPED, ship_by_in_hours=-30, n_items=2)

    total = viewer_client.get(INDEX).context["today_total"]
    assert total.counts["overdue"].value == 1
    assert _linked_ids(viewer_client, total.counts["overdue"].url) == {still_open.pk}


def test_links_use_the_grids_own_filter_parameters(viewer_client, day, walmart_account):
    from orders.filters import filter_param_names

    response = viewer_client.get(INDEX)
    for row in [*response.context["today_rows"], response.context["today_total"]]:
        for name, _label in TODAY_COLUMNS:
            url = urlsplit(row.counts[name].url)
            if url.path == reverse("admin:orders_order_changelist"):
                assert set(parse_qs(url.query)) <= filter_param_names(), url.query


def test_at_risk_follows_the_accounts_setting(viewer_client, day, walmart_account):
    """Walmart's default is 4 days after ship-by; set to 2, the order a day overdue becomes at risk."""
    walmart_account.auto_cancel_days = 2
    walmart_account.save()
    total = viewer_client.get(INDEX).context["today_total"]
    assert _linked_ids(viewer_client, total.counts["auto_cancel_risk"].url) == {
        day["wm_at_risk"].pk, day["az_at_risk"].pk, day["wm_overdue_1d"].pk}


def test_today_runs_a_fixed_number_of_queries(viewer_client, walmart_account, amazon_account):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert viewer_client.get(INDEX).status_code == 200
        return len(captured)

    few = queries()
    for account in (walmart_account, amazon_account):
        for hours in (-100, -30, 5, 40):
            _order(account, OrderStatus.UNSHIPPED, ship_by_in_hours=hours, buyer_cancel_requested=True)
    from tests.factories import ChannelAccountFactory

    ChannelAccountFactory.create_batch(3)
    assert queries() == few


def test_a_staff_user_without_a_role_sees_no_counts(client, django_user_model, day):
    client.force_login(django_user_model.objects.create_user("nobody", is_staff=True))
    response = client.get(INDEX)
    assert response.status_code == 200
    assert "today_total" not in response.context
    assert b'id="today"' not in response.content


def test_the_header_offers_no_view_site_link_back_to_the_admin_itself(operator_client):
    html = operator_client.get(reverse("admin:index")).content.decode()
    assert "View site" not in html


def test_a_figure_links_only_to_a_list_its_reader_may_open(client, day, django_user_model):
    """Staff who may see orders but not import problems, Needs attention or the accounts read those
    figures as numbers, not as links to a "403 Forbidden" page."""
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("orders-only", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_order", content_type__app_label="orders"))
    client.force_login(user)

    html = client.get(INDEX).content.decode()

    today = html[html.index('id="today"'):html.index("</table>", html.index('id="today"'))]
    for forbidden in ("admin:orders_importproblem_changelist", "admin:cockpit_discrepancy_changelist",
                      "admin:channels_channelaccount_changelist"):
        assert reverse(forbidden) not in today
        assert client.get(reverse(forbidden)).status_code == 403
    assert reverse("admin:orders_order_changelist") in today
    assert "accounts not in sync" in today and "You may not open this list" in today
    nav = html[html.index('class="cockpit-nav"'):html.index("</nav>")]
    assert "Needs attention" not in nav and "Seller performance" in nav


def test_an_account_with_a_failed_channel_action_is_not_in_sync(viewer_client, walmart_account):
    from tests.factories import ChannelActionFactory

    Order.objects.all().delete()
    walmart_account.last_import_started_at = walmart_account.last_import_succeeded_at = timezone.now()
    walmart_account.save()
    ChannelActionFactory(order=create_order(account=walmart_account), state="failed", last_error="HTTP 500")

    context = viewer_client.get(INDEX).context
    [row] = [row for row in context["today_rows"] if row.account == walmart_account]
    assert (row.in_sync, row.health) == (False, "Imports OK; 1 failed channel action")
    assert context["today_total"].counts["not_in_sync"].value >= 1


def _imported(account):
    account.last_import_started_at = account.last_import_succeeded_at = timezone.now()
    account.save()
    return account


def _action(account, state: str, *, attempts: int = 0, last_error: str = ""):
    from tests.factories import ChannelActionFactory

    return ChannelActionFactory(order=create_order(account=account), state=state, attempts=attempts,
                                last_error=last_error)


def test_an_account_whose_channel_action_is_being_retried_is_not_in_sync(viewer_client, walmart_account):
    """A shipment the channel refused twice and that waits for its third try has not reached the
    channel: the account reads so on Today and on the accounts list, and counts as not in sync."""
    _imported(walmart_account)
    _action(walmart_account, "pending", attempts=2, last_error="HTTP 503")

    context = viewer_client.get(INDEX).context
    [row] = [row for row in context["today_rows"] if row.account == walmart_account]
    assert (row.in_sync, row.health) == (False, "Imports OK; 1 channel action retrying")
    assert context["today_total"].counts["not_in_sync"].value == 1
    accounts = viewer_client.get(reverse("admin:channels_channelaccount_changelist")).content.decode()
    assert "Imports OK; 1 channel action retrying" in accounts


def test_a_channel_action_waiting_for_its_first_try_leaves_the_account_in_sync(viewer_client, walmart_account):
    """Work on its way that nothing refused yet is the ordinary state of an account, not drift."""
    _imported(walmart_account)
    _action(walmart_account, "pending")
    _action(walmart_account, "in_flight", attempts=1)
    _action(walmart_account, "succeeded", attempts=2, last_error="")

    context = viewer_client.get(INDEX).context
    [row] = [row for row in context["today_rows"] if row.account == walmart_account]
    assert (row.in_sync, row.health) == (True, "OK")
    assert context["today_total"].counts["not_in_sync"].value == 0


def test_accounts_not_in_sync_opens_exactly_the_accounts_it_counts(viewer_client, walmart_account, amazon_account):
    """The figure links to the accounts list filtered to the accounts it counts, whatever made each one
    not in sync; the accounts in sync, and inactive ones, are not listed."""
    from tests.factories import AmazonAccountFactory, ChannelAccountFactory

    ok = _imported(walmart_account)
    _action(ok, "succeeded", attempts=1)
    retrying = _imported(amazon_account)
    _action(retrying, "pending", attempts=1, last_error="HTTP 429")
    failed = _imported(ChannelAccountFactory(title="Walmart failed"))
    _action(failed, "failed", attempts=6, last_error="HTTP 500")
    never_imported = ChannelAccountFactory(title="Walmart new")
    inactive = ChannelAccountFactory(title="Walmart off", is_active=False)
    _action(inactive, "failed", attempts=6, last_error="HTTP 500")
    kept_aside = _imported(AmazonAccountFactory(title="Amazon kept aside"))
    now = timezone.now()
    ImportProblem.objects.create(account=kept_aside, channel_order_id="X2", fingerprint="X2", raw_payload="{}",
                                 error="unreadable", first_seen_at=now, last_seen_at=now)
    wanted = {retrying.pk, failed.pk, never_imported.pk, kept_aside.pk}

    figure = viewer_client.get(INDEX).context["today_total"].counts["not_in_sync"]
    response = viewer_client.get(figure.url)
    assert response.status_code == 200
    listed = {account.pk for account in response.context["cl"].result_list}
    assert listed == wanted
    assert figure.value == len(wanted)
    in_sync = viewer_client.get(reverse("admin:channels_channelaccount_changelist") + "?in_sync=yes")
    assert {account.pk for account in in_sync.context["cl"].result_list} == {ok.pk, inactive.pk}


def test_an_order_late_since_this_morning_is_late_not_also_to_ship_today(viewer_client, walmart_account):
    """'To ship today' and 'Past ship-by' are two piles of work: an order is in one of them."""
    late = _order(walmart_account, OrderStatus.UNSHIPPED, ship_by_in_hours=-1 / 60)
    due = _order(walmart_account, OrderStatus.UNSHIPPED, ship_by_in_hours=1 / 60)
    total = viewer_client.get(INDEX).context["today_total"]
    assert _linked_ids(viewer_client, total.counts["overdue"].url) == {late.pk}
    assert late.pk not in _linked_ids(viewer_client, total.counts["ship_today"].url)
    if timezone.localtime(due.ship_by_date).date() == timezone.localtime().date():
        assert _linked_ids(viewer_client, total.counts["ship_today"].url) == {due.pk}


def test_amazon_counts_its_days_as_business_days_and_walmart_as_calendar_days(walmart_account, amazon_account,
                                                                            settings):
    """Thursday 3 December, 07:35, a day's warning: Amazon cancels 7 business days after ship-by at the
    same hour, so ship-by Wednesday 25 November 07:00 (due Friday 4, 07:00) is at risk and 08:00 is not
    yet; Walmart's 4 calendar days make ship-by 30 November 07:35 the last one at risk."""
    from orders.filters import auto_cancel_deadline, to_ship_q

    settings.TIME_ZONE = "UTC"
    now = dt.datetime(2026, 12, 3, 7, 35, tzinfo=dt.UTC)

    def at_risk(account, *ship_bys):
        orders = [create_order(account=account, status=OrderStatus.UNSHIPPED, sale_date=ship_by - dt.timedelta(days=1),
                               ship_by_date=ship_by) for ship_by in ship_bys]
        flagged = set(Order.objects.filter(to_ship_q("auto_cancel_risk", now=now)).values_list("pk", flat=True))
        return [order.pk in flagged for order in orders]

    at = dt.datetime
    assert auto_cancel_deadline(account=amazon_account, ship_by=at(2026, 11, 25, 7, tzinfo=dt.UTC)) == at(
        2026, 12, 4, 7, tzinfo=dt.UTC)
    assert at_risk(amazon_account, at(2026, 11, 20, 23, tzinfo=dt.UTC), at(2026, 11, 25, 7, tzinfo=dt.UTC),
                   at(2026, 11, 25, 8, tzinfo=dt.UTC), at(2026, 11, 26, 7, tzinfo=dt.UTC)) == [True, True, False, False]
    assert at_risk(walmart_account, at(2026, 11, 30, 7, 35, tzinfo=dt.UTC),
                   at(2026, 11, 30, 7, 36, tzinfo=dt.UTC)) == [True, False]
    # The outside tester's case: 2 business days, ship-by Wednesday 2 December; due Friday 4 at the
    # same hour, so on Thursday at 09:15 those before 09:15 are within the day.
    Order.objects.all().delete()
    amazon_account.auto_cancel_days = 2
    amazon_account.save()
    now = dt.datetime(2026, 12, 3, 9, 15, tzinfo=dt.UTC)
    assert at_risk(amazon_account, at(2026, 12, 2, 0, 34, tzinfo=dt.UTC), at(2026, 12, 2, 7, 22, tzinfo=dt.UTC),
                   at(2026, 12, 2, 13, 37, tzinfo=dt.UTC)) == [True, True, False]
    # A ship-by on a Friday evening or on the weekend: the weekend does not count.
    friday_evening = at(2026, 12, 4, 20, tzinfo=dt.UTC)
    assert auto_cancel_deadline(account=amazon_account, ship_by=friday_evening) == at(2026, 12, 8, 20, tzinfo=dt.UTC)
    assert auto_cancel_deadline(account=amazon_account, ship_by=at(2026, 12, 5, 10, tzinfo=dt.UTC)) == at(
        2026, 12, 8, 10, tzinfo=dt.UTC)


def test_amazon_rows_have_nothing_to_acknowledge_rather_than_a_zero(viewer_client, walmart_account, amazon_account):
    html = viewer_client.get(INDEX).content.decode()
    amazon_row = html[html.index(f'data-account="{amazon_account.pk}"'):].split("</tr>")[0]
    walmart_row = html[html.index(f'data-account="{walmart_account.pk}"'):].split("</tr>")[0]
    assert 'title="Amazon orders are not acknowledged">—' in amazon_row
    assert "not acknowledged" not in walmart_row
