"""The order page's Cancel (R-CAN-1..3, R-CAN-5): the whole order, every open unit, as the grid's
bulk Cancel; shipped units stay. The reason comes from the channel's own list, nothing chosen for
the operator; a confirmation says what is sent before anything is; refusals are plain; to cancel
only some units the page points to the credit memo form."""

import xml.etree.ElementTree as ET

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from orders.models import ChannelAction, Order, OrderItem, OrderStatus
from orders.services.importing import account_import_orders
from orders.services.shipments import Tracking, order_ship
from tests.factories import create_order
from tests.helpers import drain_actions, ups_tracking

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


def cancel_url(order):
    return reverse("admin:orders_order_cancel", args=[order.pk])


def confirm(client, order, reason, **more):
    """The page's two steps: review with the reason, then Yes."""
    client.post(cancel_url(order), {"reason": reason, **more})
    return client.post(cancel_url(order), {"reason": reason, "confirm_cancel": "yes", **more}, follow=True)


def test_walmart_every_open_unit_of_the_order_is_canceled_and_a_shipped_unit_stays(sandbox, wm_account,
                                                                                   operator_client):
    order, channel = walmart_order(sandbox, wm_account, lines=2, qty=3)
    first, second = items_of(order)
    order_ship(order_id=order.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(3)),
               quantities={first.pk: 1})
    drain_actions()

    # A stale per-line field (the page once had them) changes nothing: the whole order is canceled.
    confirm(operator_client, order, "SELLER_CANCEL_PRICING_ERROR", **{f"qty_{first.pk}": "1"})
    drain_actions()

    assert [(line.shipped, line.cancelled) for line in channel.lines] == [(1, 2), (0, 3)]
    assert {line.cancellation_reason for line in channel.lines} == {"SELLER_CANCEL_PRICING_ERROR"}
    assert [(item.qty_shipped, item.qty_canceled, item.qty_open) for item in items_of(order)] == [(1, 2, 0), (0, 3, 0)]
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PARTIALLY_SHIPPED  # the shipped unit stays
    assert {action.state for action in ChannelAction.objects.filter(order=order, kind=ChannelAction.Kind.CANCEL)} == {
        ChannelAction.State.SUCCEEDED}


def test_amazon_every_item_of_the_order_is_canceled_with_the_chosen_reason(sandbox, az_account, operator_client):
    order, channel = amazon_order(sandbox, az_account, items=2, qty=2)
    first, second = items_of(order)

    confirm(operator_client, order, "ShippingAddressUndeliverable")
    drain_actions()

    feed = next(f for f in sandbox.amazon.feeds.values() if f.feed_type == "POST_ORDER_ACKNOWLEDGEMENT_DATA")
    ack = ET.fromstring(sandbox.amazon.documents[feed.document_id]["content"]).find("Message/OrderAcknowledgement")
    assert [(node.findtext("AmazonOrderItemCode"), node.findtext("CancelReason")) for node in ack.findall("Item")] == [
        (first.channel_line_id, "ShippingAddressUndeliverable"), (second.channel_line_id, "ShippingAddressUndeliverable")]
    assert [item.canceled for item in channel.items] == [2, 2]
    assert [item.qty_canceled for item in items_of(order)] == [2, 2]


@pytest.mark.parametrize(("shipped", "reason", "refusal"), [
    (0, "", "This field is required."),
    (0, "out_of_stock", "Select a valid choice. out_of_stock is not one of the available choices."),
    (3, "SELLER_CANCEL_OUT_OF_STOCK", "Not canceled: nothing left to cancel (shipped lines cannot be canceled)."),
    (0, "CUSTOMER_REQUESTED_SELLER_TO_CANCEL", "Not canceled: the buyer did not request cancellation: of "),
])
def test_a_refusal_is_said_plainly_on_the_page_and_nothing_is_sent(operator_client, walmart_account, shipped,
                                                                   reason, refusal):
    order = create_order(account=walmart_account, status=OrderStatus.UNSHIPPED, n_items=1)
    OrderItem.objects.filter(order=order).update(qty_ordered=3, qty_shipped=shipped)
    html = operator_client.post(cancel_url(order), {"reason": reason, "confirm_cancel": "yes"}).content.decode()
    assert refusal in html
    assert order.items.get().qty_canceled == 0 and not ChannelAction.objects.filter(order=order).exists()


def test_the_buyers_reason_only_when_the_buyer_asked_to_cancel_every_open_line(operator_client, walmart_account):
    order = create_order(account=walmart_account, status=OrderStatus.UNSHIPPED, n_items=2)
    asked, other = items_of(order)
    OrderItem.objects.filter(pk=asked.pk).update(buyer_cancel_requested=True)
    html = operator_client.get(cancel_url(order)).content.decode()
    assert (f"The buyer asked to cancel only {asked.sku}, so “Buyer asked to cancel "
            "(CUSTOMER_REQUESTED_SELLER_TO_CANCEL)” cannot cancel the whole order; cancel those units alone with a "
            "credit memo.") in html
    html = confirm(operator_client, order, "CUSTOMER_REQUESTED_SELLER_TO_CANCEL").content.decode()
    assert f"Not canceled: the buyer did not request cancellation: of {other.sku}." in html
    assert not ChannelAction.objects.filter(order=order).exists()

    OrderItem.objects.filter(pk=other.pk).update(buyer_cancel_requested=True)
    assert "The buyer asked to cancel this order" in operator_client.get(cancel_url(order)).content.decode()
    confirm(operator_client, order, "CUSTOMER_REQUESTED_SELLER_TO_CANCEL")
    assert ChannelAction.objects.get(order=order).payload["reason"] == "CUSTOMER_REQUESTED_SELLER_TO_CANCEL"


def test_the_page_lists_the_open_lines_read_only_and_offers_the_channels_reasons_none_chosen(
        operator_client, walmart_account, amazon_account):
    walmart = create_order(account=walmart_account, status=OrderStatus.UNSHIPPED, n_items=2)
    first, second = items_of(walmart)
    OrderItem.objects.filter(pk=first.pk).update(qty_ordered=3, qty_shipped=1)
    html = operator_client.get(reverse("admin:orders_order_change", args=[walmart.pk])).content.decode()
    assert f'href="{cancel_url(walmart)}"' in html
    html = operator_client.get(cancel_url(walmart)).content.decode()
    assert f"<td>{first.title}</td>\n            <td>3</td><td>1</td><td>0</td><td>2</td>" in html
    assert f"<td>{second.sku}</td><td>{second.title}</td>" in html
    assert 'name="qty_' not in html and 'type="checkbox"' not in html and 'type="number"' not in html
    assert ">Pricing error (SELLER_CANCEL_PRICING_ERROR)</option>" in html
    assert ">Fraud: stop shipment (SELLER_CANCEL_FRAUD_STOP_SHIPMENT)</option>" in html
    assert '<option value="" selected>— choose the reason —</option>' in html
    amazon = create_order(account=amazon_account, status=OrderStatus.UNSHIPPED)
    html = operator_client.get(cancel_url(amazon)).content.decode()
    for code in ("NoInventory", "CarrierCoverageFailure", "MerchandiseNotReceived"):  # Amazon's own list, all of it
        assert f"({code})</option>" in html


def test_the_page_points_to_the_credit_memo_form_for_part_of_an_order(operator_client, operator, walmart_account):
    order = create_order(account=walmart_account, status=OrderStatus.UNSHIPPED)
    memo_form = reverse("admin:creditmemos_creditmemo_create_for_order", args=[order.pk])
    html = operator_client.get(cancel_url(order)).content.decode()
    assert "To cancel only some units, create a credit memo instead." in html  # the operator may not create one
    assert memo_form not in html
    operator.user_permissions.add(Permission.objects.get(codename="refund_order"))
    html = operator_client.get(cancel_url(order)).content.decode()
    assert (f'To cancel only some units, create a <a href="{memo_form}" id="cancel-credit-memo">credit memo</a> '
            "instead.") in html
    created = create_order(account=walmart_account, status=OrderStatus.CREATED)  # takes no credit memo
    assert reverse("admin:creditmemos_creditmemo_create_for_order", args=[created.pk]) not in (
        operator_client.get(cancel_url(created)).content.decode())


def test_the_confirmation_says_what_is_sent_and_nothing_goes_before_yes(operator_client, walmart_account):
    order = create_order(account=walmart_account, status=OrderStatus.UNSHIPPED, n_items=2)
    first, second = items_of(order)
    OrderItem.objects.filter(pk=first.pk).update(qty_ordered=3, qty_shipped=1, channel_line_id="4",
                                                 channel_line_numbers=["4"])
    OrderItem.objects.filter(pk=second.pk).update(qty_ordered=1, channel_line_id="5", channel_line_numbers=["5"])
    choice = {"reason": "SELLER_CANCEL_OUT_OF_STOCK"}

    html = operator_client.post(cancel_url(order), choice).content.decode()

    assert "Walmart will be sent one cancellation" in html
    assert f"<td>{first.sku}</td><td>{first.title}</td><td>2</td><td>4</td>" in html
    assert f"<td>{second.sku}</td><td>{second.title}</td><td>1</td><td>5</td>" in html
    assert "Reason: <strong>Out of stock (SELLER_CANCEL_OUT_OF_STOCK)</strong>" in html
    assert f"Shipped units stay shipped: {first.sku} × 1." in html
    assert not ChannelAction.objects.filter(order=order).exists() and order.items.get(pk=first.pk).qty_canceled == 0

    response = operator_client.post(cancel_url(order), {**choice, "confirm_cancel": "yes"}, follow=True)

    [action] = ChannelAction.objects.filter(order=order, kind=ChannelAction.Kind.CANCEL)
    assert action.payload == {"lines": [{"line_number": "4", "qty": 2}, {"line_number": "5", "qty": 1}],
                              "reason": "SELLER_CANCEL_OUT_OF_STOCK"}
    [message] = [str(m) for m in response.context["messages"]]
    assert message == (f"Cancellation recorded ({first.sku} × 2, {second.sku} × 1; reason: Out of stock "
                       "(SELLER_CANCEL_OUT_OF_STOCK)); queued for Walmart.")


def test_change_it_goes_back_to_the_choice_as_it_was(operator_client, walmart_account):
    order = create_order(account=walmart_account, status=OrderStatus.UNSHIPPED, n_items=1)
    html = operator_client.post(cancel_url(order), {"reason": "SELLER_CANCEL_FRAUD_STOP_SHIPMENT",
                                                    "edit_cancel": "Change it"}).content.decode()
    assert 'id="cancel-review"' in html and 'id="cancel-confirmation"' not in html
    assert '<option value="SELLER_CANCEL_FRAUD_STOP_SHIPMENT" selected>' in html
    assert not ChannelAction.objects.exists()
