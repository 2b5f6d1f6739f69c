"""R-ORD-1, R-ORD-2, R-ACC-1: creating the store order."""

import pytest
from django.db import IntegrityError, transaction

from orders.models import Order, OrderLog, OrderStatus, Product
from orders.services.errors import OrderActionRefused
from orders.services.store_orders import (
    REFUSED_CANCELED,
    REFUSED_EXISTS,
    REFUSED_PENDING,
    order_create_store_order,
)
from tests.factories import ProductFactory, create_order
from tests.helpers import run_concurrently

pytestmark = pytest.mark.django_db


def test_r_ord_1_creates_numbered_store_order_and_logs_it(walmart_account, operator):
    order = create_order(account=walmart_account, status=OrderStatus.UNSHIPPED)

    order_create_store_order(order_id=order.pk, user=operator)

    order.refresh_from_db()
    assert order.store_order_number == "100000001"
    assert order.store_order_created_at is not None
    log = OrderLog.objects.get(order=order, type=OrderLog.Type.SUCCESS)
    assert log.message == "Store order #100000001 created."
    assert log.initiator == OrderLog.Initiator.USER and log.user == operator


def test_r_ord_1_numbers_are_sequential_and_distinct(walmart_account):
    orders = [create_order(account=walmart_account) for _ in range(3)]
    for order in orders:
        order_create_store_order(order_id=order.pk)
    numbers = sorted(Order.objects.values_list("store_order_number", flat=True))
    assert numbers == ["100000001", "100000002", "100000003"]


def test_r_ord_1_second_call_is_refused(walmart_account):
    order = create_order(account=walmart_account)
    order_create_store_order(order_id=order.pk)

    with pytest.raises(OrderActionRefused) as refused:
        order_create_store_order(order_id=order.pk)

    assert refused.value.reason == REFUSED_EXISTS
    assert Order.objects.get(pk=order.pk).store_order_number == "100000001"


def test_r_ord_1_database_refuses_a_duplicate_number(walmart_account):
    first, second = create_order(account=walmart_account), create_order(account=walmart_account)
    order_create_store_order(order_id=first.pk)
    first.refresh_from_db()
    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.filter(pk=second.pk).update(
            store_order_number=first.store_order_number, store_order_created_at=first.store_order_created_at
        )


def test_canceled_order_gets_no_store_order(walmart_account):
    order = create_order(account=walmart_account, status=OrderStatus.CANCELED)
    with pytest.raises(OrderActionRefused) as refused:
        order_create_store_order(order_id=order.pk)
    assert refused.value.reason == REFUSED_CANCELED
    assert Order.objects.get(pk=order.pk).store_order_number is None


def test_r_acc_1_amazon_pending_order_gets_no_store_order(amazon_account):
    order = create_order(account=amazon_account, status=OrderStatus.PENDING)
    with pytest.raises(OrderActionRefused) as refused:
        order_create_store_order(order_id=order.pk)
    assert refused.value.reason == REFUSED_PENDING


def test_r_acc_1_amazon_paid_order_gets_store_order(amazon_account):
    order = create_order(account=amazon_account, status=OrderStatus.UNSHIPPED)
    order_create_store_order(order_id=order.pk)
    assert Order.objects.get(pk=order.pk).store_order_number


def test_r_ord_2_reserves_stock_of_linked_products(walmart_account):
    product = ProductFactory(sku="LINKED-1", stock_qty=10)
    order = create_order(account=walmart_account, n_items=1, products=[product])
    item = order.items.get()

    order_create_store_order(order_id=order.pk)

    product.refresh_from_db()
    item.refresh_from_db()
    assert product.reserved_qty == item.qty_ordered
    assert item.qty_reserved == item.qty_ordered
    number = Order.objects.get(pk=order.pk).store_order_number
    assert OrderLog.objects.filter(
        order=order, message=f"Store order #{number} created; reserved {item.qty_ordered} × LINKED-1.").exists()


def test_r_ord_2_links_unlinked_items_by_sku(walmart_account):
    order = create_order(account=walmart_account, n_items=1)
    item = order.items.get()
    product = ProductFactory(sku=item.sku, stock_qty=10)

    order_create_store_order(order_id=order.pk)

    item.refresh_from_db()
    assert item.product == product
    assert Product.objects.get(pk=product.pk).reserved_qty == item.qty_ordered


def test_r_ord_2_unlinked_sku_is_a_warning_not_an_error(walmart_account):
    order = create_order(account=walmart_account, n_items=1)
    sku = order.items.get().sku
    Product.objects.filter(sku=sku).delete()

    order_create_store_order(order_id=order.pk)

    assert Order.objects.get(pk=order.pk).store_order_number
    warning = OrderLog.objects.get(order=order, type=OrderLog.Type.WARNING)
    assert warning.message == f"SKU {sku} is not linked to a product: no stock reserved for it."


def test_r_ord_2_oversold_product_is_logged(walmart_account):
    product = ProductFactory(sku="SCARCE", stock_qty=0)
    order = create_order(account=walmart_account, n_items=1, products=[product])
    order_create_store_order(order_id=order.pk)
    assert OrderLog.objects.filter(order=order, type=OrderLog.Type.WARNING, message__contains="oversold").exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_r_ord_1_two_concurrent_calls_create_one_store_order(walmart_account):
    product = ProductFactory(sku="RACE", stock_qty=10)
    order = create_order(account=walmart_account, n_items=1, products=[product])
    results = run_concurrently(lambda: order_create_store_order(order_id=order.pk))
    outcomes = [r.reason if isinstance(r, OrderActionRefused) else "created" if isinstance(r, Order) else repr(r)
                for r in results]

    assert sorted(outcomes) == sorted(["created", REFUSED_EXISTS])
    assert OrderLog.objects.filter(order=order, type=OrderLog.Type.SUCCESS).count() == 1
    assert Product.objects.get(pk=product.pk).reserved_qty == order.items.get().qty_ordered
