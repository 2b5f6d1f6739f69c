"""Issue 13: the admin lists over tables that grow for years run a fixed number of queries whatever
the page holds, count large results from the planner's estimate, search through indexes, and replace
deep pages by narrowing."""

import pytest
from django.urls import reverse
from django.utils import timezone

from orders.admin_lists import EstimatedCountPaginator
from orders.models import ChannelAction, ImportProblem
from tests.factories import (
    BulkJobFactory,
    ChannelActionFactory,
    ChannelAccountFactory,
    CreditMemoFactory,
    OrderFactory,
    OrderLogFactory,
    ShipmentFactory,
)

pytestmark = pytest.mark.django_db


def _import_problem(order):
    now = timezone.now()
    return ImportProblem.objects.create(account=order.account, channel_order_id=order.channel_order_id,
                                        fingerprint=order.channel_order_id, raw_payload="{}", error="unreadable",
                                        first_seen_at=now, last_seen_at=now)


def _account_with_actions(order):
    account = ChannelAccountFactory()
    ChannelActionFactory(order__account=account, state=ChannelAction.State.FAILED)
    ChannelActionFactory(order__account=account, state=ChannelAction.State.PENDING)
    return account


# list → (what one more row of it is, the filters and searches an operator uses on it)
LISTS = {
    "orders_orderlog": (lambda order: OrderLogFactory(order=order),
                        [{}, {"type__exact": "notice"}, {"initiator__exact": "system"}, {"q": "1"},
                         {"order__account__id__exact": "1"}]),
    "orders_channelaction": (lambda order: ChannelActionFactory(order=order, state=ChannelAction.State.FAILED),
                             [{}, {"state__exact": "failed"}, {"account__id__exact": "1"}, {"q": "1"}]),
    "orders_shipment": (lambda order: ShipmentFactory(order=order),
                        [{}, {"q": "1Z999"}, {"sync_state__exact": "ok"}, {"carrier__exact": "UPS"}]),
    "creditmemos_creditmemo": (lambda order: CreditMemoFactory(order=order), [{}, {"q": "1"}, {"state__exact": "pending"}]),
    "orders_bulkjob": (lambda order: BulkJobFactory(order_ids=[order.pk]), [{}, {"state__exact": "queued"}]),
    "orders_importproblem": (_import_problem, [{}, {"status": "open"}, {"q": "1"}]),
    "channels_channelaccount": (_account_with_actions, [{}]),
}


def _queries(client, url, params, django_assert_max_num_queries):
    with django_assert_max_num_queries(20) as captured:
        response = client.get(url, params)
    assert response.status_code == 200, response.content[:300]
    return response, [query["sql"] for query in captured.captured_queries]


@pytest.mark.parametrize("name", LISTS)
def test_a_list_runs_the_same_queries_whatever_the_page_holds(admin_client, walmart_account, name,
                                                              django_assert_max_num_queries):
    add_row, cases = LISTS[name]
    url = reverse(f"admin:{name}_changelist")
    counts, added = {}, 0
    for rows in (2, 12):
        for _ in range(rows - added):
            add_row(OrderFactory(account=walmart_account))
        added = rows
        counts[rows] = {}
        for params in cases:
            response, queries = _queries(admin_client, url, params, django_assert_max_num_queries)
            counts[rows][str(params)] = len(queries)
        assert len(admin_client.get(url).context["cl"].result_list) >= rows
    assert counts[2] == counts[12]


@pytest.mark.postgres
@pytest.mark.parametrize("name", ["orders_orderlog", "orders_channelaction", "orders_shipment",
                                  "creditmemos_creditmemo", "orders_bulkjob", "orders_importproblem"])
def test_a_large_result_is_counted_from_the_planner_estimate(admin_client, walmart_account, name, monkeypatch,
                                                             django_assert_max_num_queries):
    add_row, _ = LISTS[name]
    add_row(OrderFactory(account=walmart_account))
    monkeypatch.setattr(EstimatedCountPaginator, "exact_below", 0)  # every result counts as large
    response, queries = _queries(admin_client, reverse(f"admin:{name}_changelist"), {}, django_assert_max_num_queries)
    assert not any("COUNT(*)" in sql for sql in queries)
    assert any(sql.startswith("EXPLAIN") for sql in queries)
    assert response.context["cl"].paginator.count_is_estimate


def test_deep_pages_are_replaced_by_narrowing(admin_client, walmart_account, monkeypatch):
    monkeypatch.setattr(EstimatedCountPaginator, "deepest_page", 2)
    order = OrderFactory(account=walmart_account)
    logs = [OrderLogFactory(order=order, message=f"line {n}") for n in range(5)]
    from orders.admin import OrderLogAdmin

    monkeypatch.setattr(OrderLogAdmin, "list_per_page", 2)
    url = reverse("admin:orders_orderlog_changelist")
    deepest = admin_client.get(url, {"p": 2})
    deeper = admin_client.get(url, {"p": 3})
    assert deeper.status_code == 200
    assert [log.pk for log in deeper.context["cl"].result_list] == [log.pk for log in deepest.context["cl"].result_list]
    assert len(logs) == 5 and deeper.context["cl"].paginator.num_pages == 2
    assert "filter or search to see the others" in deeper.content.decode()


def test_the_order_log_is_searched_by_the_whole_order_number(admin_client, walmart_account):
    order, other = OrderFactory(account=walmart_account), OrderFactory(account=walmart_account)
    line = OrderLogFactory(order=order)
    OrderLogFactory(order=other, message=f"mentions {order.channel_order_id}")
    url = reverse("admin:orders_orderlog_changelist")
    found = admin_client.get(url, {"q": order.channel_order_id}).context["cl"].result_list
    assert [log.pk for log in found] == [line.pk]


def test_shipments_are_searched_by_tracking_number_in_any_case_or_by_order_number(admin_client, walmart_account):
    shipment = ShipmentFactory(order=OrderFactory(account=walmart_account), tracking_number="1Z999AA10123456784")
    other = ShipmentFactory(order=OrderFactory(account=walmart_account), tracking_number="9400111899223100000000")
    url = reverse("admin:orders_shipment_changelist")
    for term in ("1z999aa10123456784", shipment.order.channel_order_id):
        assert [s.pk for s in admin_client.get(url, {"q": term}).context["cl"].result_list] == [shipment.pk]
    assert other.pk not in [s.pk for s in admin_client.get(url, {"q": "1Z999"}).context["cl"].result_list]


def test_the_accounts_list_counts_each_accounts_waiting_and_failed_actions(admin_client, walmart_account):
    account = _account_with_actions(OrderFactory(account=walmart_account))
    ChannelActionFactory(order__account=account, state=ChannelAction.State.SUCCEEDED)
    ChannelActionFactory(order__account=walmart_account, state=ChannelAction.State.SUBMITTED)
    listed = {row.pk: row for row in admin_client.get(reverse("admin:channels_channelaccount_changelist"))
              .context["cl"].result_list}
    assert (listed[account.pk].waiting, listed[account.pk].failed) == (1, 1)
    assert (listed[walmart_account.pk].waiting, listed[walmart_account.pk].failed) == (1, 0)


def _cells(html: str, column: str) -> list[str]:
    """The cells of one column of an admin list, top to bottom."""
    import re

    return [re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(rf'<td class="field-{column}[^"]*">(.*?)</td>', html, re.S)]


def test_channel_actions_show_a_next_attempt_only_for_those_still_to_be_tried(admin_client, walmart_account):
    """A succeeded action shows when it finished, not a "next attempt" it will never have."""
    from orders.datetimes import operator_datetime

    order = OrderFactory(account=walmart_account)
    soon, earlier, done_at = (timezone.now() + timezone.timedelta(minutes=5), timezone.now() - timezone.timedelta(hours=2),
                              timezone.now() - timezone.timedelta(hours=1))
    State = ChannelAction.State
    pending = ChannelActionFactory(order=order, state=State.PENDING, next_attempt_at=soon)
    succeeded = ChannelActionFactory(order=order, state=State.SUCCEEDED, next_attempt_at=earlier, completed_at=done_at)
    in_flight = ChannelActionFactory(order=order, state=State.IN_FLIGHT, next_attempt_at=earlier)
    submitted = ChannelActionFactory(order=order, state=State.SUBMITTED, next_attempt_at=soon)
    failed = ChannelActionFactory(order=order, state=State.FAILED, next_attempt_at=earlier, last_error="Boom")
    ChannelAction.objects.filter(pk=failed.pk).update(updated_at=done_at)

    html = admin_client.get(reverse("admin:orders_channelaction_changelist")).content.decode()

    assert "Next attempt at" in html and "Finished at" in html
    newest_first = [failed, submitted, in_flight, succeeded, pending]
    blank = "-"  # the admin's empty value
    assert _cells(html, "next_attempt_column") == [
        blank, f"{operator_datetime(soon)} (asks the channel for its answer)", blank, blank, operator_datetime(soon)]
    assert _cells(html, "finished_column") == [operator_datetime(done_at), blank, blank, operator_datetime(done_at),
                                               blank]
    assert len(newest_first) == len(_cells(html, "state"))
    assert operator_datetime(earlier) not in html  # no stale "next attempt" for settled or in-flight actions


def test_channel_actions_count_the_attempts_before_an_operators_retry(admin_client, walmart_account):
    """A retried action that succeeded at once has been tried seven times, not once."""
    order = OrderFactory(account=walmart_account)
    ChannelActionFactory(order=order, state=ChannelAction.State.SUCCEEDED, attempts=3)
    ChannelActionFactory(order=order, state=ChannelAction.State.SUCCEEDED, attempts=1, attempts_before_retry=6)

    html = admin_client.get(reverse("admin:orders_channelaction_changelist")).content.decode()

    assert _cells(html, "attempts_column") == ["1 since the last retry (7 in all)", "3"]
