"""Issue 10 §5 and §6: confirmation pages list the orders they act on; reasons are words with the
channel's code (the labels of every admin page: test_admin_pages)."""

import re

import pytest
from django.urls import reverse

from orders.admin_confirm import PREVIEW_SIZE
from orders.models import OrderStatus
from tests.factories import create_order

pytestmark = pytest.mark.django_db


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


def test_cancelling_what_the_buyer_asked_to_cancel_offers_the_buyers_reason_first(
        operator_client, walmart_account, amazon_account):
    """A seller-caused cancellation counts against the seller's metrics: one click on "Yes" must not
    turn the buyer's request into one (the outside tester's finding)."""
    asked = {account.channel: create_order(account=account, status=OrderStatus.UNSHIPPED, buyer_cancel_requested=True)
             for account in (walmart_account, amazon_account)}
    for channel, order in asked.items():
        html = operator_client.get(reverse("admin:orders_order_action", args=[order.pk, "cancel"])).content.decode()
        [selected] = re.findall(r'<option value="(\w+)"[^>]* selected>', html)
        assert selected == "buyer_requested", channel
    not_asked = create_order(account=walmart_account, status=OrderStatus.UNSHIPPED)
    html = operator_client.get(reverse("admin:orders_order_action", args=[not_asked.pk, "cancel"])).content.decode()
    assert not re.findall(r'<option value="buyer_requested"[^>]* selected>', html)
    mixed = operator_client.post(reverse("admin:orders_order_changelist"), {
        "action": "cancel_action", "_selected_action": [str(asked["walmart"].pk), str(not_asked.pk)], "index": "0"})
    assert "The buyer asked to cancel 1 of these 2 orders." in mixed.content.decode()


def test_breadcrumbs_name_the_section_then_the_list_not_orders_twice(admin_client, walmart_account):
    """Every page of an order's work leads back the same way: Home › Sales › Orders › the order."""
    from tests.factories import ShipmentFactory

    order = create_order(account=walmart_account, status=OrderStatus.SHIPPED)
    shipment = ShipmentFactory(order=order)
    pages = {reverse("admin:orders_order_changelist"): "",
             reverse("admin:orders_order_change", args=[order.pk]): f" › {order.channel_order_id}",
             reverse("admin:orders_order_ship", args=[order.pk]): f" › {order.channel_order_id} › Ship",
             reverse("admin:orders_shipment_correct", args=[shipment.pk]): f" › {order.channel_order_id} › Correct "
                                                                            "shipment",
             reverse("admin:orders_order_upload_tracking"): " › Upload tracking",
             reverse("admin:creditmemos_creditmemo_create_for_order", args=[order.pk]):
                 f" › {order.channel_order_id} › New credit memo"}
    for url, rest in pages.items():
        html = admin_client.get(url).content.decode()
        crumbs = html[html.index('class="breadcrumbs">') + 20:].split("</div>")[0]
        crumbs = " ".join(re.sub(r"<[^>]+>", " ", crumbs).replace("&rsaquo;", "›").split())
        assert crumbs == "Home › Sales › Orders" + rest, url
