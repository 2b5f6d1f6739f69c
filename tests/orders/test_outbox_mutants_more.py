"""Issue 9 §2: what the outbox hands the channel, field by field — rules that mutants of
orders/outbox.py showed no test guarded (tools/mutation_survivors.md names the mutants each kills)."""

import xml.etree.ElementTree as ET

import pytest
from django.utils import timezone

from creditmemos.rules import MemoInput
from creditmemos.services import credit_memo_create
from orders.models import ChannelAction, Order
from orders.services.importing import account_import_orders
from orders.services.shipments import order_ship
from tests.creditmemos.test_exactly_once import UPS, shipped_amazon_order, shipped_walmart_order
from tests.helpers import drain_actions
from tests.money import item_ids

pytestmark = pytest.mark.django_db


def test_a_walmart_shipment_carries_the_store_order_number_as_seller_order_id(sandbox, wm_account):
    [po] = sandbox.walmart.create_orders(count=1)
    account_import_orders(account_id=wm_account.pk)
    order = Order.objects.get(channel_order_id=po)
    Order.objects.filter(pk=order.pk).update(store_order_number="S-4711", store_order_created_at=timezone.now())

    order_ship(order_id=order.pk, tracking=UPS)
    drain_actions()

    [shipping] = sandbox.requests.all(method="POST", path=r"/shipping$")
    [line] = shipping.body["orderShipment"]["orderLines"]["orderLine"]
    assert line["sellerOrderId"] == "S-4711"


def test_a_walmart_refund_carries_the_memos_comment(sandbox, wm_account):
    order, _ = shipped_walmart_order(sandbox, wm_account, qty=1, price="10.00")

    credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={order.items.get().pk: 1},
                                                         comment="scratched on arrival"))
    drain_actions()

    [refund] = sandbox.requests.all(method="POST", path=r"^/v3/orders/.*/refund$")
    [line] = refund.body["orderRefund"]["orderLines"]["orderLine"]
    assert [r["refundComments"] for r in line["refunds"]["refund"]] == ["scratched on arrival"]


def test_a_refund_through_a_walmart_return_names_the_buyers_customer_order_id(sandbox, wm_account):
    order, channel = shipped_walmart_order(sandbox, wm_account, qty=1, price="10.00")
    return_id = sandbox.walmart.create_return(order.channel_order_id)
    account_import_orders(account_id=wm_account.pk)

    credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={order.items.get().pk: 1}))
    drain_actions()

    [refund] = sandbox.requests.all(method="POST", path=rf"^/v3/returns/{return_id}/refund$")
    assert refund.body["customerOrderId"] == channel.customer_order_id == order.customer_order_id != ""


def test_an_amazon_refund_is_keyed_by_the_first_24_hex_digits_of_its_idempotency_key(sandbox, az_account):
    order = shipped_amazon_order(sandbox, az_account, qty=1, price="20.00")

    credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={item_ids(order)[0]: 1}))
    drain_actions()

    refund = ChannelAction.objects.get(order=order, kind=ChannelAction.Kind.REFUND)
    ids = [element.text for document in sandbox.amazon.documents.values()
           for element in ET.fromstring(document["content"]).iter("MerchantAdjustmentItemID")]
    assert ids == [f"{refund.idempotency_key.hex[:24]}-1"] and refund.state == ChannelAction.State.SUCCEEDED
