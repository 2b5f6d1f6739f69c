"""Issue 10 §6: titles and labels for people — every admin list is titled by what it lists, no
"PK"/"ID" column, no "Model object (2)" anywhere; confirmation pages list the orders they act on."""

import re

import pytest
from django.contrib import admin
from django.urls import NoReverseMatch, reverse

from orders.admin_confirm import PREVIEW_SIZE
from orders.models import OrderStatus
from tests.factories import (
    BulkJobFactory,
    ChannelActionFactory,
    CreditMemoItemFactory,
    OrderLogFactory,
    OrderReturnLineFactory,
    ProductFactory,
    ShipmentItemFactory,
    create_order,
)

pytestmark = pytest.mark.django_db
OBJECT_REPR = re.compile(r"\b[A-Z][A-Za-z]+ object \(\d+\)")
ID_COLUMN = re.compile(r'<th scope="col"[^>]*>\s*<div class="text">(?:<a [^>]*>)?\s*(PK|Id|ID)\s*<', re.I)


@pytest.fixture
def one_of_everything(walmart_account):
    order = create_order(account=walmart_account, status=OrderStatus.SHIPPED)
    item = order.items.first()
    ChannelActionFactory(order=order)
    CreditMemoItemFactory(credit_memo__order=order, order_item=item)
    OrderReturnLineFactory(order_return__order=order, order_item=item)
    BulkJobFactory(order_ids=[order.pk])
    OrderLogFactory(order=order)
    ShipmentItemFactory(shipment__order=order, order_item=item)
    ProductFactory()
    return order


def test_every_admin_page_is_labelled_for_people(admin_client, one_of_everything):
    for model in admin.site._registry:
        opts = model._meta
        try:
            changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        except NoReverseMatch:
            continue
        html = admin_client.get(changelist).content.decode()
        plural = str(opts.verbose_name_plural)
        assert f"<h1>{plural[:1].upper()}{plural[1:]}</h1>" in html, changelist
        assert "Select " not in re.search(r"<title>(.*?)</title>", html, re.S).group(1), changelist
        assert not ID_COLUMN.search(html), changelist
        assert not OBJECT_REPR.search(html), (changelist, OBJECT_REPR.search(html))
        first = model._default_manager.first()
        if first is None or opts.model_name == "order":
            continue
        page = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[first.pk]))
        assert not OBJECT_REPR.search(page.content.decode()), (opts.model_name, OBJECT_REPR.search(page.content.decode()))


def test_confirmation_page_lists_the_first_orders_and_counts_the_rest(operator_client, walmart_account):
    orders = [create_order(account=walmart_account) for _ in range(PREVIEW_SIZE + 3)]
    response = operator_client.post(reverse("admin:orders_order_changelist"), {
        "action": "acknowledge_action", "_selected_action": [str(o.pk) for o in orders], "index": "0"})
    html = response.content.decode()
    listed = re.findall(r'<li><a href="/admin/orders/order/(\d+)/change/">', html)
    assert len(listed) == PREVIEW_SIZE and {int(pk) for pk in listed} <= {o.pk for o in orders}
    assert f"… {PREVIEW_SIZE + 3} orders in all" in html
    assert f"Acknowledge on <strong>{PREVIEW_SIZE + 3}</strong> orders" in html


def test_confirmation_page_of_one_order_names_it(operator_client, walmart_account):
    order = create_order(account=walmart_account)
    html = operator_client.get(reverse("admin:orders_order_action", args=[order.pk, "cancel"])).content.decode()
    assert f">{order.channel_order_id}</a></li>" in html and "orders in all" not in html


def test_cancel_reasons_are_words_with_each_channels_code(operator_client, walmart_account, amazon_account):
    """One style for reasons everywhere (the credit memo form's): words, the channel's code beside."""
    walmart = create_order(account=walmart_account, status=OrderStatus.UNSHIPPED)
    html = operator_client.get(reverse("admin:orders_order_action", args=[walmart.pk, "cancel"])).content.decode()
    assert ">Out of stock (SELLER_CANCEL_OUT_OF_STOCK)</option>" in html
    assert ">Buyer asked to cancel (CUSTOMER_REQUESTED_SELLER_TO_CANCEL)</option>" in html
    amazon = create_order(account=amazon_account, status=OrderStatus.UNSHIPPED)
    both = operator_client.post(reverse("admin:orders_order_changelist"), {
        "action": "cancel_action", "_selected_action": [str(walmart.pk), str(amazon.pk)], "index": "0"})
    assert ">Out of stock (Walmart SELLER_CANCEL_OUT_OF_STOCK, Amazon NoInventory)</option>" in both.content.decode()
