"""R-GRID-1..3: the order grid, its filters, sorting, query count, bulk actions and CSV export."""

import csv
import datetime as dt
import io
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from orders.actions import bulk_job_run
from orders.models import BulkJob, ChannelAction, Fulfillment, Order, OrderStatus, SyncState
from tests.factories import (
    ChannelAccountFactory,
    ChannelActionFactory,
    OrderItemFactory,
    ShipmentFactory,
    create_order,
)

pytestmark = pytest.mark.django_db
GRID = reverse("admin:orders_order_changelist")
EXPORT = reverse("admin:orders_order_export")


def grid_ids(client, **params) -> set[int]:
    response = client.get(GRID, {**params, "all": ""})
    assert response.status_code == 200, response.content[:500]
    return {order.pk for order in response.context["cl"].result_list}


@pytest.fixture
def mixed_orders(walmart_account, amazon_account):
    now = timezone.now()
    orders = {
        "wm_created": create_order(account=walmart_account, status=OrderStatus.CREATED, sale_date=now - dt.timedelta(days=1)),
        "wm_shipped": create_order(account=walmart_account, status=OrderStatus.SHIPPED, sale_date=now - dt.timedelta(days=10)),
        "az_pending": create_order(account=amazon_account, status=OrderStatus.PENDING, sale_date=now - dt.timedelta(days=20)),
        "az_unshipped": create_order(
            account=amazon_account,
            status=OrderStatus.UNSHIPPED,
            sale_date=now - dt.timedelta(days=30),
            fulfillment=Fulfillment.CHANNEL,
        ),
    }
    Order.objects.filter(pk=orders["wm_shipped"].pk).update(store_order_number="100000009", store_order_created_at=now)
    Order.objects.filter(pk=orders["az_unshipped"].pk).update(sync_state=SyncState.ERROR, sync_error="429 from Amazon")
    return orders


def ids(orders, *names):
    return {orders[name].pk for name in names}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["wm_created", "wm_shipped", "az_pending", "az_unshipped"]),
        ({"channel": "amazon"}, ["az_pending", "az_unshipped"]),
        ({"status": "shipped"}, ["wm_shipped"]),
        ({"store_order_created": "true"}, ["wm_shipped"]),
        ({"store_order_created": "false"}, ["wm_created", "az_pending", "az_unshipped"]),
        ({"sync_error": "true"}, ["az_unshipped"]),
        ({"sync_error": "false"}, ["wm_created", "wm_shipped", "az_pending"]),
        ({"fulfillment": "channel"}, ["az_unshipped"]),
    ],
)
def test_r_grid_2_filter_narrows(operator_client, mixed_orders, params, expected):
    assert grid_ids(operator_client, **params) == ids(mixed_orders, *expected)


def test_r_grid_2_account_and_marketplace_filters(operator_client, mixed_orders, walmart_account, amazon_account):
    assert grid_ids(operator_client, account=walmart_account.pk) == ids(mixed_orders, "wm_created", "wm_shipped")
    assert grid_ids(operator_client, marketplace=amazon_account.marketplace_id) == ids(
        mixed_orders, "az_pending", "az_unshipped"
    )


def test_r_grid_2_sale_date_range(operator_client, mixed_orders):
    today = timezone.now().date()
    params = {
        "sale_date_after": (today - dt.timedelta(days=15)).isoformat(),
        "sale_date_before": (today - dt.timedelta(days=5)).isoformat(),
    }
    assert grid_ids(operator_client, **params) == ids(mixed_orders, "wm_shipped")
    assert grid_ids(operator_client, sale_date_after=(today - dt.timedelta(days=2)).isoformat()) == ids(
        mixed_orders, "wm_created"
    )


def test_r_grid_2_ship_by_range_keeps_orders_sold_before_it(operator_client, mixed_orders):
    """The range's end also bounds the sale date (an order sells before its ship-by date)."""
    end = mixed_orders["wm_shipped"].ship_by_date.date()
    start = mixed_orders["wm_shipped"].sale_date.date()
    assert grid_ids(operator_client, ship_by_date_after=start.isoformat(), ship_by_date_before=end.isoformat()) == ids(
        mixed_orders, "wm_shipped")


def test_ship_by_date_before_the_sale_is_refused_by_the_database(walmart_account):
    from django.db import IntegrityError, transaction

    order = create_order(account=walmart_account)
    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.filter(pk=order.pk).update(ship_by_date=order.sale_date - dt.timedelta(days=1))


def test_r_grid_2_ship_by_date_range(operator_client, mixed_orders):
    ship_by = mixed_orders["az_pending"].ship_by_date.date()
    params = {"ship_by_date_after": ship_by.isoformat(), "ship_by_date_before": ship_by.isoformat()}
    assert grid_ids(operator_client, **params) == ids(mixed_orders, "az_pending")


def test_r_grid_2_invalid_filter_value_is_shown_not_applied(operator_client, mixed_orders):
    response = operator_client.get(GRID, {"sale_date_after": "not-a-date"})
    assert response.status_code == 200
    assert "Enter a valid date." in response.content.decode()
    assert len(response.context["cl"].result_list) == 4


@pytest.mark.parametrize("field", ["channel_order_id", "customer_order_id", "buyer_email"])
def test_r_grid_2_search_by_order_numbers_and_email(operator_client, mixed_orders, field):
    target = mixed_orders["wm_shipped"]
    assert grid_ids(operator_client, search=getattr(target, field)) == {target.pk}


def test_r_grid_2_search_by_buyer_name_sku_and_title(operator_client, mixed_orders):
    target = mixed_orders["az_pending"]
    Order.objects.filter(pk=target.pk).update(buyer_name="Zelda Quixote")
    OrderItemFactory(order=target, sku="UNIQUE-SKU-77", title="Glow-in-the-dark kazoo")
    assert grid_ids(operator_client, search="Quixote") == {target.pk}
    assert grid_ids(operator_client, search="UNIQUE-SKU-77") == {target.pk}
    assert grid_ids(operator_client, search="kazoo") == {target.pk}


def test_search_finds_what_operators_type(operator_client, mixed_orders):
    """Issue 10 §4: store order #, the start of a channel / customer order #, the start of a SKU in
    any case, tracking #, buyer email in any case."""
    target = mixed_orders["wm_shipped"]
    Order.objects.filter(pk=target.pk).update(store_order_number="100000777", channel_order_id="9876543210123",
                                              customer_order_id="5550001112223")
    OrderItemFactory(order=target, sku="Blue-Mug-12")
    ShipmentFactory(order=target, tracking_number="1Z999AA10123456784")
    for typed in ("100000777", "98765432", "555000111", "blue-mug-12", "BLUE-MUG-12", "blue-m", "Blue-Mug-1",
                  "1z999aa10123456784", target.buyer_email.upper()):
        assert grid_ids(operator_client, search=typed) == {target.pk}, typed
    assert grid_ids(operator_client, search="76543210") == set()  # the middle of a number is no prefix
    assert grid_ids(operator_client, search="mug-12") == set()  # nor the middle of a SKU
    assert grid_ids(operator_client, search="blue_mug") == set()  # a _ is the character, not any one


@pytest.mark.postgres
def test_a_sku_prefix_is_searched_on_its_index(operator_client, mixed_orders):
    """The start of a SKU in any case is a range of the UPPER(sku) index (its pattern ops), not a scan
    of every item: 1,000,000 orders hold 3,000,000."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        grid_ids(operator_client, search="blue-m")
    [lookup] = [query["sql"] for query in captured.captured_queries if 'FROM "orders_orderitem"' in query["sql"]
                and "UNION" in query["sql"]]
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")  # the tiny test table would be scanned whatever the indexes
        cursor.execute(f"EXPLAIN {lookup}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("RESET enable_seqscan")
    assert "order_item_sku_upper_idx" in plan and "~>=~" in plan, plan


def test_search_finds_the_start_of_a_buyer_email(operator_client, mixed_orders):
    """Relay addresses are long: the part an operator has (before or after the @) finds the order."""
    target = mixed_orders["wm_shipped"]
    Order.objects.filter(pk=target.pk).update(buyer_email="3f6a8c2d1e9b4a7c8d2e1f3a4b5c6d7e@relay.walmart.com")
    for typed in ("3F6A8C2D1E9B", "3f6a8c2d1e9b4a7c8d2e1f3a4b5c6d7e@relay", "3f6a8c2d1e9b4a7c8d2e1f3a4b5c6d7e@"):
        assert grid_ids(operator_client, search=typed) == {target.pk}, typed
    assert grid_ids(operator_client, search="@relay.walmart.com") == set()  # only the start of an address


def test_filter_buyer_asked_to_cancel(operator_client, mixed_orders):
    target = mixed_orders["az_pending"]
    Order.objects.filter(pk=target.pk).update(buyer_cancel_requested=True)
    assert grid_ids(operator_client, buyer_cancel_requested="true") == {target.pk}
    assert target.pk not in grid_ids(operator_client, buyer_cancel_requested="false")


def test_r_grid_1_default_sort_is_sale_date_newest_first(operator_client, mixed_orders):
    response = operator_client.get(GRID)
    listed = [order.pk for order in response.context["cl"].result_list]
    assert listed == [mixed_orders[name].pk for name in ("wm_created", "wm_shipped", "az_pending", "az_unshipped")]


def test_r_grid_2_sort_by_sale_date_and_ship_by_date(operator_client, mixed_orders):
    oldest_first = [o.pk for o in operator_client.get(GRID, {"o": "1"}).context["cl"].result_list]
    assert oldest_first[0] == mixed_orders["az_unshipped"].pk
    # The oldest sale ships last: sorting by ship-by date must put it at the end, not the start.
    Order.objects.filter(pk=mixed_orders["az_unshipped"].pk).update(ship_by_date=timezone.now() + dt.timedelta(days=90))
    by_ship_date = [o.pk for o in operator_client.get(GRID, {"o": "2"}).context["cl"].result_list]
    assert by_ship_date[-1] == mixed_orders["az_unshipped"].pk
    assert by_ship_date[0] == mixed_orders["az_pending"].pk


def test_r_grid_1_columns(operator_client, walmart_account, amazon_account):
    wm = create_order(account=walmart_account, status=OrderStatus.UNSHIPPED, n_items=1)
    wm.items.update(buyer_cancel_requested=True, title="Laundry Bag")
    az = create_order(account=amazon_account, status=OrderStatus.UNSHIPPED, n_items=1)
    Order.objects.filter(pk=az.pk).update(buyer_cancel_requested=True, sync_state=SyncState.ERROR)
    ChannelActionFactory(order=az, kind=ChannelAction.Kind.CANCEL, description="Cancel", state=ChannelAction.State.FAILED,
                         last_error="Boom 500", payload={"lines": []})
    html = operator_client.get(GRID).content.decode()
    for header in ("Sale Date", "Ship By Date", "Store Order #", "Channel Order #", "Account", "Items", "Buyer",
                   "Fulfillment", "Total Paid", "Status"):
        assert header in html
    assert "N/A" in html
    assert wm.customer_order_id in html and wm.channel_order_id in html
    assert "Laundry Bag" in html and "Cancellation Requested" in html
    assert "Unshipped (Cancellation Requested)" in html
    assert "Error: Cancel: Boom 500" in html
    assert f"{wm.grand_total:,.2f} USD" in html
    assert reverse("admin:orders_order_change", args=[wm.pk]) in html


def _cells(html: str, order: Order) -> dict[str, str]:
    """The grid row of `order`: its cells' HTML by column (status_column, items_column …)."""
    link = reverse("admin:orders_order_change", args=[order.pk])
    [row] = [row for row in re.findall(r"<tr[^>]*>.*?</tr>", html, flags=re.DOTALL) if f'href="{link}"' in row]
    return dict(re.findall(r'<td class="field-(\w+)[^"]*">(.*?)</td>', row, flags=re.DOTALL))


def test_the_cancellation_request_badge_is_where_the_seeds_put_it(operator_client, walmart_account, amazon_account):
    """Seeds 000 and 001: Walmart's request (line by line) shows next to the item in the Items column,
    its lines marked, and Status names them on hover; Amazon's (the whole order) in the Status column.
    A request whose line is canceled already is no longer shown."""
    walmart = create_order(account=walmart_account, status=OrderStatus.UNSHIPPED, n_items=2)
    _first, second = walmart.items.order_by("pk")
    second.buyer_cancel_requested = True
    second.save()
    Order.objects.filter(pk=walmart.pk).update(buyer_cancel_requested=True)
    amazon = create_order(account=amazon_account, status=OrderStatus.UNSHIPPED, n_items=1)
    Order.objects.filter(pk=amazon.pk).update(buyer_cancel_requested=True)
    amazon.items.update(buyer_cancel_requested=True)
    done = create_order(account=walmart_account, status=OrderStatus.UNSHIPPED, n_items=2)
    asked = done.items.order_by("pk").last()
    done.items.filter(pk=asked.pk).update(buyer_cancel_requested=True, qty_canceled=asked.qty_ordered)
    Order.objects.filter(pk=done.pk).update(buyer_cancel_requested=True)

    html = operator_client.get(GRID).content.decode()

    for order, column, other in ((walmart, "items_column", "status_column"), (amazon, "status_column", "items_column")):
        cells = _cells(html, order)
        assert 'class="cancel-requested"' in cells[column], order.channel
        assert 'class="cancel-requested"' not in cells[other], order.channel
    walmart_cells = _cells(html, walmart)
    assert f"Cancellation Requested — line {second.channel_line_id}: {second.sku}" in walmart_cells["status_column"]
    marked = re.findall(r'<span class="line-cancel-requested"[^>]*>(.*?)</span>', walmart_cells["items_column"])
    assert marked == [f"{second.sku} × {second.qty_ordered}"]
    assert "line-cancel-requested" not in _cells(html, amazon)["items_column"]  # the whole order: nothing per line
    assert "Cancellation Requested" not in _cells(html, done)["status_column"]
    assert "line-cancel-requested" not in _cells(html, done)["items_column"]


def test_the_grid_reads_cancellation_requests_without_a_query_more(operator_client, walmart_account,
                                                                   amazon_account, django_assert_max_num_queries):
    for n in range(12):
        order = create_order(account=walmart_account if n % 2 else amazon_account, status=OrderStatus.UNSHIPPED,
                             n_items=2)
        Order.objects.filter(pk=order.pk).update(buyer_cancel_requested=True)
        order.items.update(buyer_cancel_requested=True)
    with django_assert_max_num_queries(GRID_PAGE_QUERIES):
        html = operator_client.get(GRID, {"all": ""}).content.decode()
    assert html.count('class="cancel-requested"') == 12


# session, user, 2 × permissions, COUNT, orders, items, unsettled channel actions, accounts and
# marketplaces for the filter form, the saved views above the grid (cockpit), plus on PostgreSQL the
# planner's row estimate (EstimatedCountPaginator).
GRID_PAGE_QUERIES = 12


def test_r_grid_query_count_is_fixed_whatever_the_page_size(operator_client, walmart_account, amazon_account,
                                                            django_assert_max_num_queries):
    counts = {}
    for page_size in (10, 100):
        while Order.objects.count() < page_size:
            n = Order.objects.count()
            create_order(account=walmart_account if n % 2 else amazon_account, status=OrderStatus.UNSHIPPED, n_items=3)
        with django_assert_max_num_queries(GRID_PAGE_QUERIES) as captured:
            response = operator_client.get(GRID, {"all": ""})
        assert len(response.context["cl"].result_list) == page_size
        assert sum("COUNT(*)" in query["sql"] for query in captured.captured_queries) <= 1
        counts[page_size] = len(captured.captured_queries)
    assert counts[10] == counts[100]


def test_r_grid_3_create_store_order_asks_for_confirmation_first(operator_client, walmart_account):
    order = create_order(account=walmart_account)
    response = operator_client.post(GRID, {"action": "create_store_order_action", "_selected_action": [order.pk]})
    assert response.status_code == 200
    assert "are you sure?" in response.content.decode()
    assert Order.objects.get(pk=order.pk).store_order_number is None


def test_r_grid_3_create_store_order_reports_done_and_skipped(operator_client, walmart_account, amazon_account):
    fresh = [create_order(account=walmart_account) for _ in range(2)]
    canceled = create_order(account=walmart_account, status=OrderStatus.CANCELED)
    pending = create_order(account=amazon_account, status=OrderStatus.PENDING)
    existing = create_order(account=walmart_account)
    Order.objects.filter(pk=existing.pk).update(store_order_number="99", store_order_created_at=timezone.now())
    selected = [o.pk for o in (*fresh, canceled, pending, existing)]

    response = operator_client.post(
        GRID,
        {"action": "create_store_order_action", "_selected_action": selected, "confirm_action": "yes"},
        follow=True,
    )

    messages = [str(m) for m in response.context["messages"]]
    assert len(messages) == 1
    assert messages[0].startswith("Create Store Order: 2 done, 3 skipped (")
    for reason in ("1 × order is canceled", "1 × Amazon order is Pending (not paid)", "1 × store order already exists"):
        assert reason in messages[0]
    assert Order.objects.filter(pk__in=[o.pk for o in fresh], store_order_number__isnull=False).count() == 2


def test_r_grid_3_select_across_honours_filters(operator_client, walmart_account, amazon_account):
    walmart = [create_order(account=walmart_account) for _ in range(2)]
    amazon = create_order(account=amazon_account, status=OrderStatus.UNSHIPPED)
    operator_client.post(
        f"{GRID}?channel=walmart",
        {"action": "create_store_order_action", "_selected_action": [walmart[0].pk], "select_across": "1",
         "confirm_action": "yes"},
    )
    assert set(Order.objects.filter(store_order_number__isnull=False).values_list("pk", flat=True)) == {
        o.pk for o in walmart
    }
    assert Order.objects.get(pk=amazon.pk).store_order_number is None


def test_select_all_of_a_large_selection_is_a_job_of_the_grid_filters_not_a_list_of_ids(
        operator_client, walmart_account, amazon_account, monkeypatch):
    """Issue 14: the click records the filters; the worker reads the orders they match."""
    monkeypatch.setattr("orders.admin.INLINE_LIMIT", 2)
    walmart = [create_order(account=walmart_account) for _ in range(3)]
    amazon = create_order(account=amazon_account, status=OrderStatus.UNSHIPPED)
    page = {"action": "acknowledge_action", "_selected_action": [walmart[0].pk], "select_across": "1"}
    asked = operator_client.post(f"{GRID}?channel=walmart&o=-2&p=1", page)
    assert "Acknowledge on <strong>3</strong> orders" in asked.content.decode()
    imported_meanwhile = create_order(account=walmart_account)  # not on the page the operator confirmed

    answer = operator_client.post(f"{GRID}?channel=walmart&o=-2&p=1", {**page, "confirm_action": "yes",
                                                                       "selected_up_to": dict(asked.context["hidden"])["selected_up_to"]},
                                  follow=True)

    job = BulkJob.objects.get()
    assert (job.filters, job.order_ids) == ({"channel": ["walmart"]}, [])
    assert job.selected_up_to_id == walmart[-1].pk < imported_meanwhile.pk
    assert "queued to run in the background on the orders the filters match" in str(list(answer.context["messages"])[0])
    bulk_job_run(job_id=job.pk)  # what the worker does (the tests run none)
    assert set(ChannelAction.objects.values_list("order_id", flat=True)) == {o.pk for o in walmart}
    assert not ChannelAction.objects.filter(order=amazon).exists()


def test_select_all_acts_only_on_the_orders_the_confirmation_counted(operator_client, walmart_account):
    """Orders imported between the confirmation page and the click are not part of the selection."""
    counted = [create_order(account=walmart_account) for _ in range(2)]
    page = {"action": "acknowledge_action", "_selected_action": [counted[0].pk], "select_across": "1"}
    asked = operator_client.post(f"{GRID}?channel=walmart", page)
    assert "Acknowledge on <strong>2</strong> orders" in asked.content.decode()
    imported_meanwhile = create_order(account=walmart_account)

    answer = operator_client.post(f"{GRID}?channel=walmart", {**page, "confirm_action": "yes",
                                                            "selected_up_to": dict(asked.context["hidden"])["selected_up_to"]},
                                  follow=True)

    assert str(list(answer.context["messages"])[0]).startswith("Acknowledge: 2 queued")
    assert set(ChannelAction.objects.values_list("order_id", flat=True)) == {o.pk for o in counted}
    assert not ChannelAction.objects.filter(order=imported_meanwhile).exists()


def test_r_grid_3_viewer_cannot_run_operating_actions(client, viewer, walmart_account):
    order = create_order(account=walmart_account)
    client.force_login(viewer)
    html = client.get(GRID).content.decode()
    assert "create_store_order_action" not in html
    client.post(GRID, {"action": "create_store_order_action", "_selected_action": [order.pk], "confirm_action": "yes"})
    assert Order.objects.get(pk=order.pk).store_order_number is None


def _csv_rows(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_r_grid_3_export_csv_honours_the_current_filters(operator_client, mixed_orders):
    rows = _csv_rows(operator_client.get(EXPORT, {"channel": "walmart", "status": "shipped"}))
    assert [row["Channel Order #"] for row in rows] == [mixed_orders["wm_shipped"].channel_order_id]
    assert rows[0]["Store Order #"] == "100000009"
    assert rows[0]["Status"] == "Shipped"

    all_rows = _csv_rows(operator_client.get(EXPORT))
    assert len(all_rows) == 4


def test_r_grid_3_export_csv_action_exports_the_selection(operator_client, mixed_orders):
    selected = ids(mixed_orders, "az_pending", "wm_created")
    response = operator_client.post(GRID, {"action": "export_csv_action", "_selected_action": list(selected)})
    exported = {row["Channel Order #"] for row in _csv_rows(response)}
    assert exported == {mixed_orders["az_pending"].channel_order_id, mixed_orders["wm_created"].channel_order_id}


def test_grid_link_exports_with_current_query_string(operator_client, mixed_orders):
    html = operator_client.get(GRID, {"channel": "amazon"}).content.decode()
    assert f'href="{EXPORT}?channel=amazon"' in html


def test_accounts_with_many_orders_do_not_break_account_filter(operator_client):
    accounts = [ChannelAccountFactory() for _ in range(3)]
    create_order(account=accounts[2])
    assert len(grid_ids(operator_client, account=accounts[2].pk)) == 1


@pytest.mark.postgres
def test_large_results_are_counted_from_the_planner_estimate(operator_client, walmart_account, monkeypatch,
                                                             django_assert_max_num_queries):
    from orders.admin_lists import EstimatedCountPaginator

    for _ in range(3):
        create_order(account=walmart_account)
    monkeypatch.setattr(EstimatedCountPaginator, "exact_below", 0)  # every result counts as large
    with django_assert_max_num_queries(GRID_PAGE_QUERIES) as captured:
        response = operator_client.get(GRID, {"channel": "walmart"})
    assert not any("COUNT(*)" in query["sql"] for query in captured.captured_queries)
    assert any(query["sql"].startswith("EXPLAIN") for query in captured.captured_queries)
    assert response.context["cl"].result_count >= 1

    monkeypatch.setattr(EstimatedCountPaginator, "exact_below", 20_000)
    assert operator_client.get(GRID, {"channel": "walmart"}).context["cl"].result_count == 3


def test_a_bulk_action_run_at_once_is_recorded_with_what_it_did(operator_client, walmart_account, amazon_account):
    """A small selection runs in the request, not on a worker: its bulk job still says how many orders it
    went through, did and skipped (the list showed nothing for it, or 0)."""
    fresh = [create_order(account=walmart_account) for _ in range(2)]
    canceled = create_order(account=walmart_account, status=OrderStatus.CANCELED)
    selected = [o.pk for o in (*fresh, canceled)]

    response = operator_client.post(
        GRID, {"action": "create_store_order_action", "_selected_action": selected, "confirm_action": "yes"},
        follow=True)

    job = BulkJob.objects.get()
    assert (job.action, job.total, job.processed, job.done) == ("create_store_order", 3, 3, 2)
    assert job.skipped == {"order is canceled": 1}
    assert job.state == BulkJob.State.DONE and job.finished_at is not None  # it queued nothing for a channel
    [message] = [str(m) for m in response.context["messages"]]
    assert message == "Create Store Order: 2 done, 1 skipped (1 × order is canceled)."

    listed = operator_client.get(reverse("admin:orders_bulkjob_changelist")).content.decode()
    assert "3 / 3" in listed and "2 done" in listed and "1 — order is canceled" in listed
    page = operator_client.get(reverse("admin:orders_bulkjob_change", args=[job.pk])).content.decode()
    assert "Create Store Order: 2 done, 1 skipped (1 × order is canceled)." in page


def test_a_bulk_action_run_at_once_follows_its_channel_actions(operator_client, walmart_account):
    orders = [create_order(account=walmart_account) for _ in range(2)]
    operator_client.post(GRID, {"action": "acknowledge_action", "_selected_action": [o.pk for o in orders],
                                "confirm_action": "yes"})
    job = BulkJob.objects.get()
    assert (job.total, job.processed, job.done, job.state) == (2, 2, 2, BulkJob.State.WAITING)
    assert set(job.actions.values_list("order_id", flat=True)) == {o.pk for o in orders}
    listed = operator_client.get(reverse("admin:orders_bulkjob_changelist")).content.decode()
    assert "2 / 2" in listed and "2 queued" in listed
    page = operator_client.get(reverse("admin:orders_bulkjob_change", args=[job.pk])).content.decode()
    assert "On the channel: 0 done, 0 failed, 2 waiting." in page


def test_one_orders_button_and_retry_failed_sync_are_not_bulk_jobs(operator_client, walmart_account):
    order = create_order(account=walmart_account)
    operator_client.post(reverse("admin:orders_order_action", args=[order.pk, "create_store_order"]))
    Order.objects.filter(pk=order.pk).update(sync_state=SyncState.ERROR)
    ChannelActionFactory(order=order, state=ChannelAction.State.FAILED, last_error="Boom")
    operator_client.post(GRID, {"action": "retry_failed_sync_action", "_selected_action": [order.pk],
                                "confirm_action": "yes"})
    assert not BulkJob.objects.exists()  # the retried action stays with the job (if any) that queued it


def test_a_select_all_job_not_started_yet_says_so_instead_of_0_of_0(operator_client, walmart_account):
    job = BulkJob.objects.create(action="acknowledge", label="Acknowledge", filters={"channel": ["walmart"]}, total=0)
    listed = operator_client.get(reverse("admin:orders_bulkjob_changelist")).content.decode()
    assert "not counted yet" in listed and "0 / 0" not in listed
    page = operator_client.get(reverse("admin:orders_bulkjob_change", args=[job.pk])).content.decode()
    assert "Acknowledge on the orders the filters match (counted when it starts)" in page
    assert "not started yet — waiting for a worker" in page and "No channel action queued yet." in page
    assert "0 orders" not in page and "0/0" not in page and "0 acknowledged" not in page


def test_a_running_job_tells_how_far_it_got_and_what_the_channel_answered_so_far(operator_client, walmart_account):
    orders = [create_order(account=walmart_account) for _ in range(3)]
    job = BulkJob.objects.create(action="acknowledge", label="Acknowledge", order_ids=[o.pk for o in orders], total=3,
                                 processed=1, done=1, state=BulkJob.State.RUNNING)
    ChannelActionFactory(order=orders[0], bulk_job=job, kind=ChannelAction.Kind.ACKNOWLEDGE)

    page = operator_client.get(reverse("admin:orders_bulkjob_change", args=[job.pk])).content.decode()

    assert "So far 1 of 3 orders gone through." in page
    listed = operator_client.get(reverse("admin:orders_bulkjob_changelist")).content.decode()
    assert "Orders gone through" in listed and "Done or queued" in listed and "1 queued" in listed  # not "Done: 1"
    assert "On the channel: 0 done, 0 failed, 1 waiting." in page


def test_grid_and_order_page_link_only_where_their_reader_may_go(client, admin_client, walmart_account,
                                                                 django_user_model):
    """Staff who may only see orders get no SKU link to a product page and no Retry link: both answered 403."""
    from django.contrib.auth.models import Permission

    from orders.models import Product, SyncState
    from tests.factories import ChannelActionFactory

    order = create_order(account=walmart_account, n_items=1)
    product = Product.objects.create(sku="LINKED-1", name="Linked")
    order.items.update(product=product)
    ChannelActionFactory(order=order, state="failed", last_error="HTTP 500")
    Order.objects.filter(pk=order.pk).update(sync_state=SyncState.ERROR, sync_error="HTTP 500")
    reader = django_user_model.objects.create_user("orders-reader", password="x", is_staff=True)
    reader.user_permissions.add(Permission.objects.get(codename="view_order", content_type__app_label="orders"))
    client.force_login(reader)
    product_page = reverse("admin:orders_product_change", args=[product.pk])
    retry = reverse("admin:orders_order_action", args=[order.pk, "retry_failed_sync"])

    for page in (reverse("admin:orders_order_changelist"), reverse("admin:orders_order_change", args=[order.pk])):
        html = client.get(page).content.decode()
        assert product_page not in html and retry not in html and "Error:" in html
    assert client.get(product_page).status_code == 403
    grid = admin_client.get(reverse("admin:orders_order_changelist")).content.decode()
    assert product_page in grid and retry in grid  # who may go there still gets both
