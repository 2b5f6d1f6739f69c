"""The order page's Cancel (R-CAN-1..3): the lines and units the operator chooses, where the channel
takes part of a line (Walmart's statusQuantity), whole lines where it does not (Amazon's
acknowledgement feed names items, no quantity); the reason from the channel's own list; a
confirmation that says what is sent before anything is; plain refusals of what the channel refuses."""

import xml.etree.ElementTree as ET

import pytest
from django.urls import reverse

from orders.models import ChannelAction, Order, OrderItem, OrderStatus
from orders.services.cancel import order_cancel
from orders.services.errors import OrderActionRefused
from orders.services.importing import account_import_orders
from tests.factories import create_order
from tests.helpers import drain_actions

pytestmark = pytest.mark.django_db


def walmart_order(sandbox, account, **create):
    [po] = sandbox.walmart.create_orders(count=1, **create)
    account_import_orders(account_id=account.pk)
    drain_actions()  # the automatic acknowledge
    return Order.objects.get(channel_order_id=po), sandbox.walmart.orders[po]


def amazon_order(sandbox, account, **create):
    [order_id] = sandbox.amazon.create_orders(count=1, **create)
    account_import_orders(account_id=account.pk)
    return Order.objects.get(channel_order_id=order_id), sandbox.amazon.orders[order_id]


def items_of(order):
    return list(order.items.order_by("pk"))


def test_r_can_1_walmart_cancels_the_chosen_units_of_the_chosen_line_with_the_chosen_reason(sandbox, wm_account):
    order, channel = walmart_order(sandbox, wm_account, lines=2, qty=3)
    first, second = items_of(order)

    order_cancel(order_id=order.pk, reason="SELLER_CANCEL_PRICING_ERROR", quantities={first.pk: 2})
    drain_actions()

    assert [line.cancelled for line in channel.lines] == [2, 0]
    assert channel.lines[0].cancellation_reason == "SELLER_CANCEL_PRICING_ERROR"
    assert [(item.qty_canceled, item.qty_open) for item in items_of(order)] == [(2, 1), (0, 3)]
    assert Order.objects.get(pk=order.pk).status == OrderStatus.UNSHIPPED  # units are left to ship
    [action] = ChannelAction.objects.filter(order=order, kind=ChannelAction.Kind.CANCEL)
    assert action.state == ChannelAction.State.SUCCEEDED


def test_r_can_1_amazon_cancels_a_chosen_line_whole_and_refuses_part_of_one(sandbox, az_account):
    order, channel = amazon_order(sandbox, az_account, items=2, qty=2)
    first, second = items_of(order)

    with pytest.raises(OrderActionRefused, match="Amazon cancels a line whole: cancel all 2 open units of"):
        order_cancel(order_id=order.pk, reason="NoInventory", quantities={first.pk: 1})
    assert not ChannelAction.objects.filter(order=order, kind=ChannelAction.Kind.CANCEL).exists()
    assert [item.qty_canceled for item in items_of(order)] == [0, 0]  # nothing half-done

    order_cancel(order_id=order.pk, reason="ShippingAddressUndeliverable", quantities={second.pk: 2})
    drain_actions()

    feed = next(f for f in sandbox.amazon.feeds.values() if f.feed_type == "POST_ORDER_ACKNOWLEDGEMENT_DATA")
    ack = ET.fromstring(sandbox.amazon.documents[feed.document_id]["content"]).find("Message/OrderAcknowledgement")
    assert [(node.findtext("AmazonOrderItemCode"), node.findtext("CancelReason")) for node in ack.findall("Item")] == [
        (second.channel_line_id, "ShippingAddressUndeliverable")]
    assert [item.canceled for item in channel.items] == [0, 2]


@pytest.mark.parametrize(("quantities", "refusal"), [
    ({}, "choose at least one unit to cancel"),
    ({"first": 0}, "choose at least one unit to cancel"),
    ({"first": 3}, "more units than are open to cancel: SKU-A has 2 (shipped units cannot be canceled)"),
    ({"first": -1}, "more units than are open to cancel"),
    ({"other order": 1}, "a line to cancel is not on this order"),
])
def test_r_can_2_what_cannot_be_canceled_is_refused_and_nothing_is_changed(walmart_account, quantities, refusal):
    order = create_order(account=walmart_account, status=OrderStatus.UNSHIPPED, n_items=1)
    OrderItem.objects.filter(order=order).update(sku="SKU-A", qty_ordered=3, qty_shipped=1)
    ids = {"first": order.items.get().pk, "other order": create_order(account=walmart_account).items.first().pk}
    with pytest.raises(OrderActionRefused) as refused:
        order_cancel(order_id=order.pk, reason="SELLER_CANCEL_OUT_OF_STOCK",
                     quantities={ids[name]: qty for name, qty in quantities.items()})
    assert str(refused.value).startswith(refusal)
    assert order.items.get().qty_canceled == 0 and not ChannelAction.objects.filter(order=order).exists()


def test_the_buyers_reason_only_for_the_lines_the_buyer_asked_to_cancel(walmart_account):
    order = create_order(account=walmart_account, status=OrderStatus.UNSHIPPED, n_items=2)
    asked, other = items_of(order)
    OrderItem.objects.filter(pk=asked.pk).update(buyer_cancel_requested=True)
    with pytest.raises(OrderActionRefused, match=f"the buyer did not request cancellation: of {other.sku}"):
        order_cancel(order_id=order.pk, reason="CUSTOMER_REQUESTED_SELLER_TO_CANCEL",
                     quantities={asked.pk: asked.qty_open, other.pk: 1})
    order_cancel(order_id=order.pk, reason="CUSTOMER_REQUESTED_SELLER_TO_CANCEL", quantities={asked.pk: asked.qty_open})
    assert ChannelAction.objects.get(order=order).payload["reason"] == "CUSTOMER_REQUESTED_SELLER_TO_CANCEL"


def cancel_url(order):
    return reverse("admin:orders_order_cancel", args=[order.pk])


def test_the_order_page_offers_the_channels_reasons_as_words_with_their_code_none_chosen(operator_client,
                                                                                         walmart_account, amazon_account):
    walmart = create_order(account=walmart_account, status=OrderStatus.UNSHIPPED)
    html = operator_client.get(reverse("admin:orders_order_change", args=[walmart.pk])).content.decode()
    assert f'href="{cancel_url(walmart)}"' in html
    html = operator_client.get(cancel_url(walmart)).content.decode()
    assert ">Pricing error (SELLER_CANCEL_PRICING_ERROR)</option>" in html
    assert ">Fraud: stop shipment (SELLER_CANCEL_FRAUD_STOP_SHIPMENT)</option>" in html
    assert '<option value="" selected>— choose the reason —</option>' in html
    amazon = create_order(account=amazon_account, status=OrderStatus.UNSHIPPED)
    html = operator_client.get(cancel_url(amazon)).content.decode()
    for code in ("NoInventory", "CarrierCoverageFailure", "MerchandiseNotReceived"):  # Amazon's own list, all of it
        assert f"({code})</option>" in html
    assert "Amazon cancels a line whole: all of its open units, or none." in html
    assert 'type="checkbox"' in html


def test_the_confirmation_says_what_is_sent_and_nothing_goes_before_yes(operator_client, walmart_account):
    order = create_order(account=walmart_account, status=OrderStatus.UNSHIPPED, n_items=2)
    first, second = items_of(order)
    OrderItem.objects.filter(pk=first.pk).update(qty_ordered=3, channel_line_id="4", channel_line_numbers=["4"])
    choices = {f"qty_{first.pk}": "2", f"qty_{second.pk}": "0", "reason": "SELLER_CANCEL_OUT_OF_STOCK"}

    html = operator_client.post(cancel_url(order), choices).content.decode()

    assert "Walmart will be sent one cancellation" in html
    assert f"<td>{first.sku}</td><td>{first.title}</td><td>2</td><td>4</td>" in html
    assert "Reason: <strong>Out of stock (SELLER_CANCEL_OUT_OF_STOCK)</strong>" in html
    assert f"Left open to ship: {first.sku} × 1, {second.sku} × {second.qty_open}." in html
    assert not ChannelAction.objects.filter(order=order).exists() and order.items.get(pk=first.pk).qty_canceled == 0

    response = operator_client.post(cancel_url(order), {**choices, "confirm_cancel": "yes"}, follow=True)

    [action] = ChannelAction.objects.filter(order=order, kind=ChannelAction.Kind.CANCEL)
    assert action.payload == {"lines": [{"line_number": "4", "qty": 2}], "reason": "SELLER_CANCEL_OUT_OF_STOCK"}
    [message] = [str(m) for m in response.context["messages"]]
    assert message == (f"Cancellation recorded ({first.sku} × 2; reason: Out of stock (SELLER_CANCEL_OUT_OF_STOCK)); "
                       "queued for Walmart.")


def test_a_refusal_is_said_plainly_on_the_page_and_nothing_is_sent(operator_client, amazon_account, walmart_account):
    order = create_order(account=walmart_account, status=OrderStatus.UNSHIPPED, n_items=1)
    [item] = items_of(order)
    html = operator_client.post(cancel_url(order), {f"qty_{item.pk}": str(item.qty_open + 1),
                                                    "reason": "SELLER_CANCEL_OUT_OF_STOCK"}).content.decode()
    assert f"{item.sku}: at most {item.qty_open} unit(s) are open to cancel." in html
    html = operator_client.post(cancel_url(order), {f"qty_{item.pk}": "1", "confirm_cancel": "yes",
                                                    "reason": "CUSTOMER_REQUESTED_SELLER_TO_CANCEL"}).content.decode()
    assert f"Not canceled: the buyer did not request cancellation: of {item.sku}." in html
    html = operator_client.post(cancel_url(order), {f"qty_{item.pk}": "0", "reason": "SELLER_CANCEL_OUT_OF_STOCK"}
                                ).content.decode()
    assert "Not canceled: choose at least one unit to cancel." in html
    assert not ChannelAction.objects.exists()


def test_change_it_goes_back_to_the_choices_as_they_were(operator_client, walmart_account):
    order = create_order(account=walmart_account, status=OrderStatus.UNSHIPPED, n_items=1)
    [item] = items_of(order)
    choices = {f"qty_{item.pk}": "1", "reason": "SELLER_CANCEL_FRAUD_STOP_SHIPMENT"}
    html = operator_client.post(cancel_url(order), {**choices, "edit_cancel": "Change it"}).content.decode()
    assert 'id="cancel-review"' in html and 'id="cancel-confirmation"' not in html
    assert f'name="qty_{item.pk}" value="1"' in html
    assert '<option value="SELLER_CANCEL_FRAUD_STOP_SHIPMENT" selected>' in html
    assert not ChannelAction.objects.exists()
