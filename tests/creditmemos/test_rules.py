"""Credit memo rules, one test per rule id (SPEC §5), Walmart over the sandbox, Amazon at the service level."""

from decimal import Decimal

import pytest

from creditmemos.models import CreditMemo
from creditmemos.rules import CreditMemoRefused, MemoInput
from creditmemos.services import credit_memo_create, credit_memo_defaults
from orders.models import ChannelAction, Order, OrderLog, OrderStatus, Product
from orders.services.importing import account_import_orders
from orders.services.shipments import Tracking, order_ship
from tests.factories import ProductFactory, create_order
from tests.helpers import drain_actions, ups_tracking

pytestmark = pytest.mark.django_db
UPS = Tracking(carrier="UPS", tracking_number=ups_tracking())


def walmart_order(sandbox, account, *, ship: bool = False, **create):
    [po] = sandbox.walmart.create_orders(count=1, **create)
    account_import_orders(account_id=account.pk)
    order = Order.objects.get(channel_order_id=po)
    if ship:
        order_ship(order_id=order.pk, tracking=UPS)
    drain_actions()
    sandbox.requests.clear()
    return Order.objects.get(pk=order.pk), sandbox.walmart.orders[po]


def memo_for(order, **quantities_by_index):
    items = list(order.items.order_by("pk"))
    return {items[int(k[1:])].pk: v for k, v in quantities_by_index.items()}


def refused(rule, **kwargs):
    with pytest.raises(CreditMemoRefused) as error:
        credit_memo_create(**kwargs)
    assert error.value.rule == rule
    return str(error.value)


# -- R-CM-1 / R-CAN-4: which orders take a memo ----------------------------------------------------

@pytest.mark.parametrize("status", [OrderStatus.UNSHIPPED, OrderStatus.PARTIALLY_SHIPPED, OrderStatus.SHIPPED])
def test_r_cm_1_walmart_memo_allowed_for_unshipped_partially_shipped_shipped(walmart_account, status):
    order = create_order(account=walmart_account, status=status)
    memo = credit_memo_create(order_id=order.pk, memo=credit_memo_defaults(order_id=order.pk))
    assert memo.pk and memo.items.exists()


def test_r_can_4_created_walmart_order_is_refused_with_guidance(walmart_account):
    order = create_order(account=walmart_account, status=OrderStatus.CREATED)
    message = refused("R-CAN-4", order_id=order.pk, memo=MemoInput(quantities={}))
    assert "Created orders cannot be refunded by a credit memo: cancel it on Walmart; the status sync will mark it Canceled" in message


def test_r_can_4_pending_amazon_order_is_refused(amazon_account):
    order = create_order(account=amazon_account, status=OrderStatus.PENDING)
    message = refused("R-CAN-4", order_id=order.pk, memo=MemoInput(quantities={}))
    assert "cancel it on Amazon" in message


def test_r_cm_1_canceled_order_is_refused(walmart_account):
    order = create_order(account=walmart_account, status=OrderStatus.CANCELED)
    refused("R-CM-1", order_id=order.pk, memo=MemoInput(quantities={}))


@pytest.mark.parametrize(("status", "allowed"), [(OrderStatus.UNSHIPPED, True), (OrderStatus.SHIPPED, True),
                                                 (OrderStatus.PARTIALLY_SHIPPED, False)])
def test_r_cm_2_amazon_memo_allowed_for_unshipped_and_shipped(amazon_account, status, allowed):
    order = create_order(account=amazon_account, status=status)
    defaults = credit_memo_defaults(order_id=order.pk)
    if allowed:
        assert credit_memo_create(order_id=order.pk, memo=defaults).pk
    else:
        refused("R-CM-2", order_id=order.pk, memo=defaults)


def test_r_cm_1_walmart_partial_refund_refunds_only_the_memo_lines(sandbox, wm_account):
    order, channel = walmart_order(sandbox, wm_account, ship=True, lines=2, qty=2)
    credit_memo_create(order_id=order.pk, memo=MemoInput(quantities=memo_for(order, i0=1)))
    drain_actions()
    [call] = sandbox.requests.all(method="POST", path="/refund$")
    [line] = call.body["orderRefund"]["orderLines"]["orderLine"]
    assert line["lineNumber"] == "1"
    charge = line["refunds"]["refund"][0]["refundCharges"]["refundCharge"][0]["charge"]
    item = order.items.order_by("pk").first()
    assert Decimal(str(charge["chargeAmount"]["amount"])) == -item.unit_price
    assert channel.lines[0].refunded < 0 and channel.lines[1].refunds == []
    item.refresh_from_db()
    assert item.qty_refunded == 1


# -- R-CM-2 / R-CM-3: Amazon ----------------------------------------------------------------------

def test_r_cm_2_partial_memo_on_unshipped_amazon_order_is_refused(amazon_account):
    order = create_order(account=amazon_account, status=OrderStatus.UNSHIPPED, n_items=2)
    message = refused("R-CM-2", order_id=order.pk, memo=MemoInput(quantities=memo_for(order, i0=1)))
    assert "ship" in message


@pytest.mark.parametrize(("status", "reason"), [(OrderStatus.UNSHIPPED, "NoInventory"), (OrderStatus.SHIPPED, "CustomerReturn")])
def test_r_cm_3_amazon_reasons(amazon_account, status, reason):
    order = create_order(account=amazon_account, status=status)
    memo = credit_memo_create(order_id=order.pk, memo=credit_memo_defaults(order_id=order.pk))
    action = ChannelAction.objects.get(order=order)
    assert memo.reason == reason and action.payload["reason"] == reason


# -- R-CM-4: buyer-requested cancellation --------------------------------------------------------

def test_r_cm_4_buyer_requested_cancel_cancels_the_order_as_buyer_canceled(sandbox, wm_account):
    order, channel = walmart_order(sandbox, wm_account, intent_to_cancel=True, lines=2)
    credit_memo_create(order_id=order.pk, memo=credit_memo_defaults(order_id=order.pk))
    drain_actions()
    assert {line.cancellation_reason for line in channel.lines} == {"CUSTOMER_REQUESTED_SELLER_TO_CANCEL"}
    assert all(line.cancelled == 1 for line in channel.lines)
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELED
    assert OrderLog.objects.filter(order=order, message__contains="(Buyer Canceled)").exists()


def test_r_cm_4_amazon_buyer_cancel_uses_buyer_canceled(amazon_account):
    order = create_order(account=amazon_account, status=OrderStatus.UNSHIPPED)
    order.items.update(buyer_cancel_requested=True)
    credit_memo_create(order_id=order.pk, memo=credit_memo_defaults(order_id=order.pk))
    assert ChannelAction.objects.get(order=order, kind="cancel").payload["reason"] == "BuyerCanceled"
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CANCELED


# -- R-CM-5 / R-CM-6 ------------------------------------------------------------------------------

def test_r_cm_5_refund_leaves_a_shipped_walmart_order_shipped(sandbox, wm_account):
    order, _ = walmart_order(sandbox, wm_account, ship=True, lines=2)
    credit_memo_create(order_id=order.pk, memo=credit_memo_defaults(order_id=order.pk))
    drain_actions()
    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED and order.refunded_total == order.grand_total


def test_r_cm_6_shipping_refund_is_sent_as_a_shipping_charge(sandbox, wm_account):
    order, channel = walmart_order(sandbox, wm_account, ship=True, qty=1)
    credit_memo_create(order_id=order.pk, memo=MemoInput(quantities=memo_for(order, i0=1),
                                                         shipping_refund=Decimal("2.00")))
    drain_actions()
    [call] = sandbox.requests.all(method="POST", path="/refund$")
    charges = call.body["orderRefund"]["orderLines"]["orderLine"][0]["refunds"]["refund"][0]["refundCharges"]["refundCharge"]
    shipping = [c for c in charges if c["charge"]["chargeType"] == "SHIPPING"]
    assert shipping and Decimal(str(shipping[0]["charge"]["chargeAmount"]["amount"])) == Decimal("-2.00")


def test_r_cm_6_shipping_refund_cannot_exceed_shipping_charged(walmart_account):
    order = create_order(account=walmart_account, status=OrderStatus.SHIPPED, n_items=1)
    refused("R-CM-6", order_id=order.pk, memo=MemoInput(quantities=memo_for(order, i0=1),
                                                        shipping_refund=order.shipping_total + 1))


# -- R-CM-7: adjustment fee -----------------------------------------------------------------------

def test_r_cm_7_adjustment_fee_forces_full_refund(walmart_account):
    order = create_order(account=walmart_account, status=OrderStatus.SHIPPED, n_items=2)
    Order.objects.filter(pk=order.pk).update(adjustment_fee=Decimal("1.50"))
    message = refused("R-CM-7", order_id=order.pk, memo=MemoInput(quantities=memo_for(order, i0=1)))
    assert "cannot be refunded partially" in message
    memo = credit_memo_create(order_id=order.pk, memo=credit_memo_defaults(order_id=order.pk))
    assert memo.items.count() == 2


def test_r_cm_7_memo_adjustment_fee_also_means_full(walmart_account):
    order = create_order(account=walmart_account, status=OrderStatus.SHIPPED, n_items=2)
    refused("R-CM-7", order_id=order.pk, memo=MemoInput(quantities=memo_for(order, i0=1),
                                                        adjustment_fee=Decimal("1")))
    full = credit_memo_defaults(order_id=order.pk)
    memo = credit_memo_create(order_id=order.pk, memo=MemoInput(quantities=full.quantities, shipping_refund=full.shipping_refund,
                                                                adjustment_fee=Decimal("1")))
    assert memo.grand_total == order.grand_total - 1


# -- R-CM-8: restock ------------------------------------------------------------------------------

def test_r_cm_8_update_qtys_returns_refunded_units_to_stock(walmart_account):
    product = ProductFactory(sku="RESTOCK-1", stock_qty=5)
    order = create_order(account=walmart_account, status=OrderStatus.SHIPPED, n_items=1, products=[product])
    qty = order.items.get().qty_ordered
    credit_memo_create(order_id=order.pk, memo=MemoInput(quantities=memo_for(order, i0=qty), restock=True))
    assert Product.objects.get(pk=product.pk).stock_qty == 5 + qty


def test_r_cm_8_without_update_qtys_stock_stays(walmart_account):
    product = ProductFactory(sku="RESTOCK-2", stock_qty=5)
    order = create_order(account=walmart_account, status=OrderStatus.SHIPPED, n_items=1, products=[product])
    credit_memo_create(order_id=order.pk, memo=MemoInput(quantities=memo_for(order, i0=1)))
    assert Product.objects.get(pk=product.pk).stock_qty == 5


# -- R-CM-9: never beyond what is left ------------------------------------------------------------

def test_r_cm_9_second_memo_for_the_same_units_is_refused(walmart_account):
    order = create_order(account=walmart_account, status=OrderStatus.SHIPPED, n_items=1)
    full = credit_memo_defaults(order_id=order.pk)
    credit_memo_create(order_id=order.pk, memo=full)
    message = refused("R-CM-9", order_id=order.pk, memo=MemoInput(quantities=full.quantities))
    assert "at most 0 unit(s) can be credited on this line" in message
    assert CreditMemo.objects.filter(order=order).count() == 1


def test_r_cm_9_quantity_above_what_is_left_is_refused_and_nothing_is_written(walmart_account):
    order = create_order(account=walmart_account, status=OrderStatus.SHIPPED, n_items=1)
    item = order.items.get()
    refused("R-CM-9", order_id=order.pk, memo=MemoInput(quantities={item.pk: item.qty_ordered + 1}))
    item.refresh_from_db()
    assert item.qty_refunded == 0 and not CreditMemo.objects.exists() and not ChannelAction.objects.exists()


# -- R-ACC-3: local only --------------------------------------------------------------------------

def test_r_acc_3_option_off_keeps_the_memo_local(walmart_account):
    walmart_account.refund_on_credit_memo = False
    walmart_account.save()
    order = create_order(account=walmart_account, status=OrderStatus.SHIPPED)
    memo = credit_memo_create(order_id=order.pk, memo=credit_memo_defaults(order_id=order.pk))
    assert memo.state == CreditMemo.State.LOCAL and memo.channel_action == "none"
    assert not ChannelAction.objects.exists()
    assert OrderLog.objects.filter(order=order, message__contains="local only").exists()
    assert all(item.qty_refunded == item.qty_ordered for item in order.items.all())  # the local side still applies


# -- memo states ----------------------------------------------------------------------------------

def test_walmart_memo_moves_pending_to_done_with_reference(sandbox, wm_account):
    order, _ = walmart_order(sandbox, wm_account, ship=True)
    memo = credit_memo_create(order_id=order.pk, memo=credit_memo_defaults(order_id=order.pk))
    assert memo.state == CreditMemo.State.PENDING
    drain_actions()
    memo.refresh_from_db()
    # Named by the refund Walmart made (its refundId), not by the purchase order (read as the memo's once)
    [refund_id] = [refund["refundId"] for line in sandbox.walmart.orders[order.channel_order_id].lines
                   for refund in line.refunds]
    assert memo.state == CreditMemo.State.DONE and memo.channel_reference == refund_id != order.channel_order_id


def test_memo_fails_when_the_channel_refuses_and_recovers_on_retry(sandbox, wm_account, fast_retries):
    from orders.outbox import order_retry_failed_actions

    order, _ = walmart_order(sandbox, wm_account, ship=True)
    sandbox.faults.add(kind="500", path="/refund$", count=4)
    memo = credit_memo_create(order_id=order.pk, memo=credit_memo_defaults(order_id=order.pk))
    drain_actions()
    memo.refresh_from_db()
    assert memo.state == CreditMemo.State.FAILED and "HTTP 500" in memo.error
    order_retry_failed_actions(order_id=order.pk)
    drain_actions()
    memo.refresh_from_db()
    assert memo.state == CreditMemo.State.DONE and memo.error == ""
