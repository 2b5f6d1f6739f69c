"""Issue 9 §1 (shipping-only memo) and §3 (memo states mean the same on both channels; a cancel
credits the shipping it returns), with the sandbox."""

from decimal import Decimal

import pytest

from creditmemos.models import CreditMemo
from creditmemos.rules import CreditMemoRefused, MemoInput
from creditmemos.services import credit_memo_create, credit_memo_defaults
from orders.models import ChannelAction
from orders.outbox import order_retry_failed_actions
from orders.services.importing import account_import_orders
from tests.creditmemos.test_exactly_once import shipped_amazon_order
from tests.creditmemos.test_rules import walmart_order
from tests.helpers import drain_actions

pytestmark = pytest.mark.django_db


def test_a_shipping_only_memo_on_a_shipped_walmart_order_reaches_walmart_as_a_shipping_refund(sandbox, wm_account):
    order, channel = walmart_order(sandbox, wm_account, ship=True, qty=2, price="10.00")

    memo = credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={}, shipping_refund=Decimal("1.50")))
    drain_actions()

    [post] = sandbox.requests.all(method="POST", path="/refund$")
    [line] = post.body["orderRefund"]["orderLines"]["orderLine"]
    [charge] = line["refunds"]["refund"][0]["refundCharges"]["refundCharge"]
    assert charge["charge"]["chargeType"] == "SHIPPING" and charge["charge"]["chargeAmount"]["amount"] == -1.5
    memo.refresh_from_db()
    assert memo.grand_total == memo.shipping_refund == Decimal("1.50") == -channel.lines[0].refunded
    assert memo.state == CreditMemo.State.DONE
    assert order.items.get().refunded_amount == Decimal("1.50")


def test_a_shipping_only_memo_without_shipped_items_is_refused_with_the_reason(sandbox, wm_account):
    order, channel = walmart_order(sandbox, wm_account, qty=2)
    with pytest.raises(CreditMemoRefused, match="Shipping is refunded on shipped items"):
        credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={}, shipping_refund=Decimal("1.00")))
    assert not CreditMemo.objects.exists() and not ChannelAction.objects.filter(kind="refund").exists()


def test_a_memo_canceling_a_whole_order_credits_the_shipping_the_cancel_returns(sandbox, wm_account):
    order, channel = walmart_order(sandbox, wm_account, lines=2, qty=1, price="20.00", acknowledged=True)
    assert order.shipping_total == Decimal("4.00")

    memo = credit_memo_create(order_id=order.pk, memo=credit_memo_defaults(order_id=order.pk))
    drain_actions()

    memo.refresh_from_db()
    assert memo.grand_total == order.grand_total  # price, tax and the 4.00 shipping
    assert memo.shipping_refund == Decimal("4.00")
    assert memo.state == CreditMemo.State.DONE
    assert all(line.cancelled == line.qty for line in channel.lines)
    assert order.logs.filter(message=f"Credit memo #{memo.pk}: Shipping of canceled items is returned by the "
                             "cancellation on the channel.").exists()


def test_a_memo_with_one_failed_action_is_failed_with_the_reason_and_done_only_when_all_are(sandbox, wm_account,
                                                                                            fast_retries):
    """Cancel of the open line and refund of the shipped one; Walmart keeps failing the refund."""
    order, channel = walmart_order(sandbox, wm_account, lines=2, qty=1, price="10.00", acknowledged=True)
    sandbox.walmart.channel_ship(order.channel_order_id, line_numbers=["1"])
    account_import_orders(account_id=wm_account.pk)
    sandbox.faults.add(kind="500", path="/refund$", count=10)

    memo = credit_memo_create(order_id=order.pk, memo=credit_memo_defaults(order_id=order.pk))
    drain_actions()

    memo.refresh_from_db()
    states = dict(memo.channel_actions.values_list("kind", "state"))
    assert states == {"cancel": ChannelAction.State.SUCCEEDED, "refund": ChannelAction.State.FAILED}
    assert memo.state == CreditMemo.State.FAILED and "refund" in memo.error and "HTTP 500" in memo.error

    sandbox.faults.clear()
    order_retry_failed_actions(order_id=order.pk)
    drain_actions()
    memo.refresh_from_db()
    assert memo.state == CreditMemo.State.DONE and memo.error == ""
    assert -sum(line.refunded for line in channel.lines) == memo.grand_total - channel_cancel_credit(order)


def channel_cancel_credit(order) -> Decimal:
    """What the memo credits through the cancel of line 2: price, tax and shipping of that line."""
    item = order.items.get(channel_line_id="2")
    return item.unit_price + item.tax + item.shipping_charge


def test_a_shipping_only_memo_on_a_shipped_amazon_order_is_a_shipping_adjustment(sandbox, az_account):
    from tests.amazon.test_amazon import uploaded_feed

    order = shipped_amazon_order(sandbox, az_account, qty=2, price="10.00")
    order_id = order.channel_order_id

    memo = credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={}, shipping_refund=Decimal("1.00")))
    drain_actions()

    adjusted = uploaded_feed(sandbox, "POST_PAYMENT_ADJUSTMENT_DATA").find("Message/OrderAdjustment/AdjustedItem")
    components = {c.findtext("Type"): c.findtext("Amount") for c in adjusted.findall("ItemPriceAdjustments/Component")}
    assert components == {"Shipping": "1.00"} and adjusted.find("Quantity") is None
    assert sandbox.amazon.orders[order_id].items[0].refunded == Decimal("1.00")
    memo.refresh_from_db()
    assert memo.state == CreditMemo.State.DONE and memo.grand_total == Decimal("1.00")
