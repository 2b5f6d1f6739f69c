"""The Amazon refund reason (the OrderAdjustment feed's AdjustmentReason) is the operator's choice on
the credit memo form, from Amazon's own list, shown as words with the code; the usual one for the
order's status is proposed (R-CM-3); what Amazon does not take is refused before anything is sent,
and the sandbox takes exactly Amazon's list."""

import uuid
import xml.etree.ElementTree as ET

import pytest
import requests

from channels.capabilities import rules_for
from channels.models import Channel
from channels.sandbox.amazon import ADJUSTMENT_REASONS
from creditmemos.models import CreditMemo
from creditmemos.rules import CreditMemoRefused, MemoInput
from creditmemos.services import credit_memo_create
from orders.models import ChannelAction, Order
from orders.services.importing import account_import_orders
from orders.services.shipments import Tracking, order_ship
from tests.creditmemos.test_form import form_data, refunder_client, url  # noqa: F401 (fixture)
from tests.helpers import drain_actions, ups_tracking

pytestmark = pytest.mark.django_db
AMAZON_REASONS = rules_for(Channel.AMAZON).refund_reasons


def shipped_amazon_order(sandbox, account):
    [order_id] = sandbox.amazon.create_orders(count=1, items=1, qty=1, price="10.00")
    account_import_orders(account_id=account.pk)
    order = Order.objects.get(channel_order_id=order_id)
    order_ship(order_id=order.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(5), method="Ground"))
    drain_actions()
    return Order.objects.get(pk=order.pk)


def adjustment_reasons_sent(sandbox) -> list[str]:
    feed = next(f for f in sandbox.amazon.feeds.values() if f.feed_type == "POST_PAYMENT_ADJUSTMENT_DATA")
    root = ET.fromstring(sandbox.amazon.documents[feed.document_id]["content"])
    return [node.text for node in root.iter("AdjustmentReason")]


def test_the_memo_form_offers_amazons_reasons_as_words_with_the_code_the_usual_one_proposed(
        sandbox, az_account, refunder_client):  # noqa: F811
    order = shipped_amazon_order(sandbox, az_account)
    html = refunder_client.get(url(order)).content.decode()
    assert '<option value="CustomerReturn" selected>Customer return (CustomerReturn)</option>' in html
    for label in ("Price error (PriceError)", "Product out of stock (ProductOutofStock)",
                  "Customer address incorrect (CustomerAddressIncorrect)", "Refused delivery (RefusedDelivery)"):
        assert f">{label}</option>" in html
    assert html.count('<option value="', html.index('name="refund_reason"')) >= len(AMAZON_REASONS)


def test_the_reason_chosen_on_the_form_is_the_one_amazon_is_sent(sandbox, az_account, refunder_client):  # noqa: F811
    order = shipped_amazon_order(sandbox, az_account)
    data = {**form_data(order, refund_reason="PriceError"), "_save": "Save"}
    del data["comment"]
    response = refunder_client.post(url(order), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    drain_actions()

    memo = CreditMemo.objects.get(order=order)
    assert memo.reason == "PriceError" and memo.state == CreditMemo.State.DONE
    assert adjustment_reasons_sent(sandbox) == ["PriceError"]
    assert sandbox.amazon.orders[order.channel_order_id].items[0].refunded > 0


def test_a_reason_amazon_does_not_take_is_refused_and_nothing_is_queued(sandbox, az_account):
    order = shipped_amazon_order(sandbox, az_account)
    [item] = order.items.all()
    with pytest.raises(CreditMemoRefused, match="'CustomerChangedMind' is not a Amazon refund reason"):
        credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={item.pk: 1},
                                                             refund_reason="CustomerChangedMind"))
    assert not CreditMemo.objects.exists()
    assert not ChannelAction.objects.filter(order=order, kind=ChannelAction.Kind.REFUND).exists()


def test_what_we_offer_is_amazons_list_and_the_sandbox_holds_the_same():
    assert len(AMAZON_REASONS) == 18 and set(AMAZON_REASONS) == ADJUSTMENT_REASONS


@pytest.mark.parametrize("reason", [*AMAZON_REASONS, "CustomerChangedMind", "customerreturn", ""])
def test_the_sandbox_takes_exactly_amazons_adjustment_reasons(sandbox, sandbox_url, reason):
    """Raw feed calls, as the real API gets them: one AdjustedItem with the reason."""
    [order_id] = sandbox.amazon.create_orders(count=1, items=1, price="10.00")
    item_code = sandbox.amazon.orders[order_id].items[0].item_id
    token = requests.post(f"{sandbox_url}/auth/o2/token", data={
        "grant_type": "refresh_token", "refresh_token": "Atzr|x", "client_id": "c", "client_secret": "s"}).json()
    headers = {"x-amz-access-token": token["access_token"]}
    document = requests.post(f"{sandbox_url}/feeds/2021-06-30/documents", headers=headers,
                             json={"contentType": "text/xml; charset=UTF-8"}).json()
    requests.put(document["url"], headers={"Content-Type": "text/xml; charset=UTF-8"}, data=(
        "<AmazonEnvelope><MessageType>OrderAdjustment</MessageType><Message><MessageID>1</MessageID><OrderAdjustment>"
        f"<AmazonOrderID>{order_id}</AmazonOrderID><AdjustedItem><AmazonOrderItemCode>{item_code}</AmazonOrderItemCode>"
        f"<MerchantAdjustmentItemID>{uuid.uuid4().hex[:20]}</MerchantAdjustmentItemID>"
        f"<AdjustmentReason>{reason}</AdjustmentReason><ItemPriceAdjustments><Component><Type>Principal</Type>"
        '<Amount currency="USD">1.00</Amount></Component></ItemPriceAdjustments></AdjustedItem>'
        "</OrderAdjustment></Message></AmazonEnvelope>").encode())
    feed = requests.post(f"{sandbox_url}/feeds/2021-06-30/feeds", headers=headers, json={
        "feedType": "POST_PAYMENT_ADJUSTMENT_DATA", "marketplaceIds": ["ATVPDKIKX0DER"],
        "inputFeedDocumentId": document["feedDocumentId"]}).json()
    status = requests.get(f"{sandbox_url}/feeds/2021-06-30/feeds/{feed['feedId']}", headers=headers).json()
    result = requests.get(f"{sandbox_url}/feeds/2021-06-30/documents/{status['resultFeedDocumentId']}",
                          headers=headers).json()
    report = requests.get(result["url"]).text
    taken = reason in AMAZON_REASONS
    assert ("<MessagesWithError>0</MessagesWithError>" in report) is taken, report
    assert (f"AdjustmentReason {reason!r} is not valid" in report) is not taken
