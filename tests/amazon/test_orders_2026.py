"""Orders API 2026-01-01, the default reader (issue 12 §1): searchOrders pages with paginationToken,
orders carry their items (no call per order), buyer and address come with includedData and the
ordinary token (no RDT), and a malformed order is set aside without sinking its page."""

import datetime as dt
from decimal import Decimal

import pytest

from channels.models import ChannelAccount
from channels.registry import client_for
from orders.models import ImportProblem, Order, OrderStatus
from orders.services import importing
from orders.services.importing import account_import_orders, account_reimport_orders

pytestmark = pytest.mark.django_db


def test_new_accounts_read_with_2026_and_page_with_pagination_tokens(sandbox, az_account, monkeypatch):
    monkeypatch.setattr(importing, "IMPORT_PAGE_SIZE", 20)
    assert ChannelAccount._meta.get_field("orders_api").default == "2026-01-01" == az_account.orders_api
    az_account.create_store_order = False
    az_account.save()
    sandbox.amazon.create_orders(count=45, items=2)

    result = account_import_orders(account_id=az_account.pk)

    assert result.created == 45 and result.pages == 3
    calls = sandbox.requests.all(method="GET", path=r"^/orders/2026-01-01/orders$")
    assert len(calls) == 3 and "paginationToken" in calls[1].query
    assert calls[0].query["includedData"] == ["BUYER,RECIPIENT,PROCEEDS,CANCELLATION,FULFILLMENT"]
    assert not sandbox.requests.all(path="/orders/v0/") and not sandbox.requests.all(path="restrictedDataToken")
    order = Order.objects.filter(channel="amazon").first()
    assert order.items.count() == 2 and order.buyer_email and order.buyer_name


def test_2026_fields_pending_buyer_cancel_and_get_order(sandbox, az_account):
    az_account.create_store_order = False
    az_account.save()
    [paid] = sandbox.amazon.create_orders(count=1, qty=2, price="10.00")
    [pending] = sandbox.amazon.create_orders(count=1, paid=False)
    [asked] = sandbox.amazon.create_orders(count=1, buyer_cancel=True)
    account_import_orders(account_id=az_account.pk)

    order = Order.objects.get(channel_order_id=paid)
    item = order.items.get()
    assert (item.qty_ordered, item.unit_price, item.tax, item.shipping_charge) == (
        2, Decimal("10.00"), Decimal("1.60"), Decimal("1.26"))
    assert order.status == OrderStatus.UNSHIPPED and order.ship_by_date and order.shipping_address["city"] == "Canton"
    assert Order.objects.get(channel_order_id=pending).status == OrderStatus.PENDING
    assert Order.objects.get(channel_order_id=asked).items.get().buyer_cancel_requested

    sandbox.amazon.channel_ship(paid)
    read = client_for(az_account).get_order(paid)
    assert read.status == "Shipped" and read.lines[0].qty_shipped == 2


@pytest.mark.parametrize(("changes", "removals", "reason", "keeps_id"), [
    ({"order.orderItems.0.quantityOrdered": "abc"}, [], "quantity 'abc' is not a whole number", True),
    ({"order.orderItems.0.proceeds.breakdowns.0.subtotal.amount": "abc"}, [], "is not an amount", True),
    ({}, ["order.orderId"], "orderId is missing", False),
    ({"order.createdTime": "yesterday"}, [], "createdTime 'yesterday' is not a time", True),
    ({"order.orderItems": "none"}, [], "orderItems is a text, not a list", True),
])
def test_a_malformed_2026_order_is_kept_aside_and_the_rest_imports(sandbox, az_account, changes, removals, reason,
                                                                  keeps_id):
    az_account.create_store_order = False
    az_account.save()
    ids = sandbox.amazon.create_orders(count=3)
    sandbox.amazon.malform(ids[1], set=changes, delete=removals, api="2026-01-01")

    result = account_import_orders(account_id=az_account.pk)

    assert result.created == 2 and result.problems == 1
    problem = ImportProblem.objects.get(account=az_account)
    assert reason in problem.error and (problem.channel_order_id == ids[1]) == keeps_id
    sandbox.amazon.mend(ids[1])
    account_import_orders(account_id=az_account.pk)
    assert Order.objects.filter(channel_order_id=ids[1]).exists()


def test_a_reimport_asks_no_later_than_two_minutes_ago(sandbox, az_account):
    """The model: createdBefore must be at least two minutes before the request (the sandbox refuses later)."""
    [order_id] = sandbox.amazon.create_orders(count=1, purchase_date=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    now = dt.datetime.now(dt.UTC)
    account_reimport_orders(account_id=az_account.pk, created_from=now - dt.timedelta(days=1), created_to=now)
    assert Order.objects.filter(channel_order_id=order_id).exists()
