"""The edges of creditmemos/rules.py that `make mutation` found unguarded: every refusal with its
rule and its words, the caps at their boundaries, and shares of partly shipped lines (R-CM-6,
R-CM-7, R-CM-9)."""

from decimal import Decimal

import pytest

from creditmemos.models import CreditMemo
from creditmemos.rules import MemoInput, plan_credit_memo, refunds_units, refusal_for_status
from creditmemos.services import credit_memo_create, credit_memo_shipping_for
from orders.models import Order, OrderStatus
from tests.creditmemos.test_money_caps import refusal
from tests.factories import create_order
from tests.money import Line, item_ids, order_with_lines

pytestmark = pytest.mark.django_db
SHIPPED = Line(qty=1, price="10.00", tax="0.80", shipping="2.00", shipped=1)


@pytest.mark.parametrize(("field", "words"), [("shipping_refund", "Amounts cannot be negative"),
                                              ("adjustment_refund", "Amounts cannot be negative"),
                                              ("adjustment_fee", "Amounts cannot be negative")])
def test_r_cm_9_negative_amounts_are_refused(walmart_account, field, words):
    order = order_with_lines(walmart_account, SHIPPED)
    refused = refusal(order, MemoInput(quantities={item_ids(order)[0]: 1}, **{field: Decimal("-0.01")}))
    assert (refused.rule, str(refused)) == ("R-CM-9", words)


def test_r_cm_9_a_line_of_another_order_is_refused(walmart_account):
    order, other = order_with_lines(walmart_account, SHIPPED), order_with_lines(walmart_account, SHIPPED)
    refused = refusal(order, MemoInput(quantities={item_ids(other)[0]: 1}))
    assert (refused.rule, str(refused)) == ("R-CM-9", "Some lines do not belong to this order")


def test_r_cm_7_an_adjustment_fee_larger_than_the_refund_is_refused(walmart_account):
    order = order_with_lines(walmart_account, Line(qty=1, price="1.00", shipped=1),
                             Line(qty=1, price="2.50", shipped=1))
    refused = refusal(order, MemoInput(quantities={item: 1 for item in item_ids(order)},
                                       adjustment_fee=Decimal("3.51")))
    assert (refused.rule, str(refused)) == ("R-CM-7", "The adjustment fee is larger than the refund: it comes off "
                                            "the price of the refunded items, at most 3.50 USD here")


def test_r_cm_7_a_fee_above_the_first_lines_price_comes_off_the_next_line(walmart_account):
    """A 1.50 fee on a 1.00 item and a 10.00 item: the first gives its 1.00, the second 0.50 (it was
    refused, as if only the first line's price could carry a fee)."""
    order = order_with_lines(walmart_account, Line(qty=1, price="1.00", shipped=1),
                             Line(qty=1, price="10.00", shipped=1))
    first, second = item_ids(order)
    memo = credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={first: 1, second: 1},
                                                                 adjustment_fee=Decimal("1.50")))
    assert memo.grand_total == Decimal("9.50")
    assert dict(memo.items.values_list("order_item_id", "amount")) == {first: Decimal("0.00"), second: Decimal("9.50")}


@pytest.mark.parametrize("shipping", ["2.00", "4.00"])
def test_r_cm_9_shipping_the_refunded_lines_cannot_carry_is_refused_to_the_cent(walmart_account, shipping):
    """Line 1 carries 1.50 of shipping: asking 2.00 leaves 0.50 nowhere to go, asking 4.00 leaves 2.50;
    either is refused, never dropped from the refund while the memo claims it."""
    order = order_with_lines(walmart_account, Line(qty=1, price="10.00", shipping="1.50", shipped=1),
                             Line(qty=1, price="10.00", shipping="2.50", shipped=1))
    refused = refusal(order, MemoInput(quantities={item_ids(order)[0]: 1}, shipping_refund=Decimal(shipping)))
    assert (refused.rule, str(refused)) == (
        "R-CM-9", "At most 11.50 can be refunded on these lines (price, tax and shipping of their shipped units, "
        "less what was refunded): lower the shipping or adjustment refund")


def test_r_cm_9_an_adjustment_beyond_what_a_line_refunded_already_holds_is_refused_in_words(walmart_account):
    """4.00 was refunded on the channel: the unit takes the 8.80 the line still holds, and an
    adjustment refund on top has nowhere to go."""
    order = order_with_lines(walmart_account, SHIPPED)
    order.items.update(refunded_amount=Decimal("4.00"))
    Order.objects.filter(pk=order.pk).update(refunded_total=Decimal("4.00"))
    [item] = order.items.all()
    refused = refusal(order, MemoInput(quantities={item.pk: 1}, adjustment_refund=Decimal("0.01")))
    assert (refused.rule, str(refused)) == (
        "R-CM-9", f"{item.sku}: at most 8.80 can be refunded on this line (price, tax and shipping of its shipped "
        "units, less what was refunded)")


def test_r_cm_9_a_partly_shipped_line_holds_the_shipped_share_of_its_tax_and_shipping(walmart_account):
    """2 units, 1 shipped: the channel holds 10.00 + half of 2.00 tax and 2.00 shipping = 12.00 for
    the shipped unit. Crediting both units cancels one (with its 1.00 shipping) and refunds the
    other: 1.00 of shipping more fits, 1.50 does not."""
    line = Line(qty=2, price="10.00", tax="2.00", shipping="2.00", shipped=1)
    order = order_with_lines(walmart_account, line)
    refused = refusal(order, MemoInput(quantities={item_ids(order)[0]: 2}, shipping_refund=Decimal("1.50")))
    assert "At most 12.00 can be refunded on these lines" in str(refused)

    memo = credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={item_ids(order)[0]: 2},
                                                                 shipping_refund=Decimal("1.00")))
    assert memo.grand_total == order.grand_total == Decimal("24.00")


def test_r_cm_6_canceled_units_never_credit_more_shipping_than_the_order_has_left(walmart_account):
    """The lines carry 2.00 of shipping each, the order only 3.00 (a shipping discount): canceling
    both credits 3.00 of shipping, 2.00 and then the 1.00 left."""
    order = order_with_lines(walmart_account, Line(qty=1, price="10.00", shipping="2.00"),
                             Line(qty=1, price="10.00", shipping="2.00"))
    Order.objects.filter(pk=order.pk).update(shipping_total=Decimal("3.00"), grand_total=Decimal("23.00"))
    first, second = item_ids(order)

    memo = credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={first: 1, second: 1}))

    assert memo.shipping_refund == Decimal("3.00") and memo.grand_total == Decimal("23.00")
    assert CreditMemo.objects.get(pk=memo.pk).channel_action == "cancel"


def test_r_cm_6_default_shipping_counts_only_the_lines_credited(walmart_account):
    """The form's derived shipping for a memo that names one of two shipped lines: that line's."""
    order = order_with_lines(walmart_account, Line(qty=1, price="10.00", shipping="1.50", shipped=1),
                             Line(qty=2, price="10.00", shipping="2.50", shipped=2))
    first, second = item_ids(order)
    assert credit_memo_shipping_for(order_id=order.pk, memo=MemoInput(quantities={first: 1})) == Decimal("1.50")
    assert credit_memo_shipping_for(order_id=order.pk, memo=MemoInput(quantities={second: 1})) == Decimal("1.25")


@pytest.mark.parametrize("memo_kind", ["some units", "all units, less shipping"])
def test_r_cm_7_any_adjustment_fee_on_the_order_means_the_full_memo(walmart_account, memo_kind):
    """A 0.50 fee is enough; and the full memo is all units and all their shipping."""
    order = order_with_lines(walmart_account, Line(qty=2, price="10.00", shipping="2.00", shipped=2))
    Order.objects.filter(pk=order.pk).update(adjustment_fee=Decimal("0.50"))
    [item] = item_ids(order)
    memo = MemoInput(quantities={item: 1}) if memo_kind == "some units" else MemoInput(
        quantities={item: 2}, shipping_refund=Decimal("1.00"))
    refused = refusal(order, memo)
    assert (refused.rule, str(refused)) == (
        "R-CM-7", "An order with an adjustment fee cannot be refunded partially: credit every unit left and all "
        "its shipping in one memo, or remove the fee")


def test_r_cm_7_the_full_memo_may_leave_out_a_line_with_nothing_left_to_credit(walmart_account):
    order = order_with_lines(walmart_account, Line(qty=1, price="5.00", canceled=1),
                             Line(qty=1, price="10.00", shipping="2.00", shipped=1))
    Order.objects.filter(pk=order.pk).update(adjustment_fee=Decimal("0.50"))
    _, shipped = item_ids(order)

    memo = credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={shipped: 1},
                                                                 shipping_refund=Decimal("2.00")))
    assert memo.grand_total == Decimal("12.00")


def test_r_cm_1_a_refund_reason_walmart_does_not_know_is_refused(walmart_account):
    order = order_with_lines(walmart_account, SHIPPED)
    refused = refusal(order, MemoInput(quantities={item_ids(order)[0]: 1}, refund_reason="Bogus"))
    assert (refused.rule, str(refused)) == ("R-CM-1", "'Bogus' is not a Walmart refund reason")


@pytest.mark.parametrize(("asked", "buyer_canceled"), [((True, False), True), ((False, True), True),
                                                       ((False, False), False)])
def test_r_cm_4_a_memo_is_logged_as_buyer_canceled_when_any_line_the_buyer_asked_is_canceled(
        walmart_account, asked, buyer_canceled):
    order = order_with_lines(walmart_account, *(Line(qty=1, price="10.00", buyer_cancel_requested=a) for a in asked))
    memo = credit_memo_create(order_id=order.pk, memo=MemoInput(quantities=dict.fromkeys(item_ids(order), 1)))
    skus = dict(order.items.values_list("pk", "sku"))
    logged = order.logs.filter(message__startswith=f"Credit memo #{memo.pk}: to cancel").get()
    canceled = ", ".join(f"to cancel {skus[pk]} × 1" for pk in item_ids(order))
    assert logged.message == (f"Credit memo #{memo.pk}: {canceled}{' (Buyer Canceled)' if buyer_canceled else ''}; "
                              f"total {memo.grand_total} USD; queued for Walmart.")
    assert logged.type != "success"  # not done until Walmart confirms it


@pytest.mark.parametrize(("adjustment", "fee"), [("1.00", "0.00"), ("0.00", "1.00"), ("1.00", "1.00")])
def test_r_cm_6_adjustments_on_a_memo_that_only_cancels_are_refused(walmart_account, adjustment, fee):
    """Nothing is refunded, so an adjustment or a fee has nowhere to go, even when they net to zero
    (the memo would show amounts the channel never saw)."""
    order = order_with_lines(walmart_account, Line(qty=1, price="10.00"))
    memo = MemoInput(quantities={item_ids(order)[0]: 1}, adjustment_refund=Decimal(adjustment),
                     adjustment_fee=Decimal(fee))
    refused = refusal(order, memo)
    assert (refused.rule, str(refused)) == ("R-CM-6", "Shipping and adjustments are refunded with shipped items; "
                                            "canceling unshipped items returns their money on the channel")


@pytest.mark.parametrize(("adjustment", "fee"), [("1.00", "0.00")])  # a fee alone asks for the full memo first
def test_r_cm_6_an_adjustment_without_units_says_it_needs_refunded_units(walmart_account, adjustment, fee):
    """A memo of an adjustment alone on a shipped order: nothing is unshipped, so the refusal says
    what is missing, not that canceling returns money."""
    order = order_with_lines(walmart_account, Line(qty=1, price="10.00", shipped=1))
    refused = refusal(order, MemoInput(quantities={}, adjustment_refund=Decimal(adjustment),
                                       adjustment_fee=Decimal(fee)))
    assert (refused.rule, str(refused)) == ("R-CM-6", ("An adjustment refund or fee goes with refunded units: credit "
                                                       "at least one shipped unit with it (refund shipping alone "
                                                       "without it)"))


def test_r_cm_9_a_cancel_of_several_units_credits_each_units_price_and_the_tax_to_the_cent(walmart_account):
    """3 units, 2 shipped, tax 1.00: crediting all cancels the open one (0.33 tax) and refunds the
    shipped two (0.67), 3 × 1.00 + 1.00 in all; two open units cancel at 2 × 10.00."""
    order = order_with_lines(walmart_account, Line(qty=3, price="1.00", tax="1.00", shipped=2))
    memo = credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={item_ids(order)[0]: 3}))
    assert sorted(memo.items.values_list("action", "qty", "amount", "tax")) == [
        ("cancel", 1, Decimal("1.00"), Decimal("0.33")), ("refund", 2, Decimal("2.00"), Decimal("0.67"))]

    two_open = order_with_lines(walmart_account, Line(qty=2, price="10.00"))
    memo = credit_memo_create(order_id=two_open.pk, memo=MemoInput(quantities={item_ids(two_open)[0]: 2}))
    assert memo.grand_total == Decimal("20.00")


def test_r_cm_6_a_memo_refunding_shipping_and_canceling_credits_no_more_shipping_than_the_order_has(walmart_account):
    """The order's shipping is 3.00 although its lines carry 2.00 each (a shipping discount): the
    refund takes 2.00, the cancel the 1.00 left."""
    order = order_with_lines(walmart_account, Line(qty=1, price="10.00", shipping="2.00", shipped=1),
                             Line(qty=1, price="10.00", shipping="2.00"))
    Order.objects.filter(pk=order.pk).update(shipping_total=Decimal("3.00"), grand_total=Decimal("23.00"))
    shipped, open_ = item_ids(order)

    memo = credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={shipped: 1, open_: 1},
                                                                 shipping_refund=Decimal("2.00")))
    assert memo.shipping_refund == Decimal("3.00") and memo.grand_total == Decimal("23.00")


def test_r_cm_2_a_partial_amazon_unshipped_memo_says_what_to_ship_first(amazon_account):
    order = order_with_lines(amazon_account, Line(qty=2, price="10.00"), Line(qty=1, price="5.00"))
    first, second = item_ids(order)
    refused = refusal(order, MemoInput(quantities={first: 1}))
    assert (refused.rule, str(refused)) == (
        "R-CM-2", "Amazon cannot refund part of an Unshipped order: ship the units you deliver first, then "
        "create a credit memo for the rest")
    assert refused.ship_first == {first: 1, second: 1}
    assert refusal(order, MemoInput(quantities={first: 2})).ship_first == {second: 1}


def test_r_cm_6_a_shipping_refund_on_an_order_with_nothing_shipped_is_refused_in_words(walmart_account):
    order = order_with_lines(walmart_account, Line(qty=1, price="10.00", shipping="2.00"))
    refused = refusal(order, MemoInput(quantities={item_ids(order)[0]: 1}, shipping_refund=Decimal("1.00")))
    assert (refused.rule, str(refused)) == ("R-CM-6", "Shipping is refunded on shipped items and this order has "
                                            "none: canceling its items returns their shipping on the channel")


def test_r_cm_9_a_memo_of_nothing_is_refused_in_words(walmart_account):
    order = order_with_lines(walmart_account, SHIPPED)
    refused = refusal(order, MemoInput(quantities={item_ids(order)[0]: 0}))
    assert (refused.rule, str(refused)) == ("R-CM-9", "The credit memo credits nothing")


def test_r_cm_6_a_shipping_refund_beside_a_cancel_keeps_both_and_says_nothing_of_canceled_shipping(walmart_account):
    """One line shipped, the other not: the memo cancels the open unit and refunds 2.00 of shipping
    only. The shipping rides on the shipped line; the cancel stays in the memo; the cancel carries no
    shipping, so no line says canceled shipping comes back."""
    order = order_with_lines(walmart_account, Line(qty=1, price="10.00", shipping="2.00", shipped=1),
                             Line(qty=1, price="5.00"))
    shipped, open_ = item_ids(order)

    memo = credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={open_: 1},
                                                                 shipping_refund=Decimal("2.00")))

    assert list(memo.items.values_list("order_item_id", "action", "qty", "amount")) == [
        (open_, "cancel", 1, Decimal("5.00"))]
    assert (memo.shipping_refund, memo.grand_total) == (Decimal("2.00"), Decimal("7.00"))
    [refund] = memo.channel_actions.filter(kind="refund")
    assert [(line["qty"], line["shipping"]) for line in refund.payload["lines"]] == [(0, "2.00")]
    assert memo.channel_actions.filter(kind="cancel").exists()
    assert not order.logs.filter(message__contains="Shipping of canceled items").exists()


def test_r_cm_6_a_shipping_only_refund_goes_out_with_the_refund_reason(walmart_account):
    order = order_with_lines(walmart_account, SHIPPED)
    [item] = order.items.all()
    plan = plan_credit_memo(order=order, items=[item], memo=MemoInput(
        quantities={}, shipping_refund=Decimal("2.00"), refund_reason="DamagedItem"))
    assert [(line.action, line.shipping, line.reason) for line in plan.lines] == [
        ("refund", Decimal("2.00"), "DamagedItem")]


def test_a_memo_refunds_units_only_when_a_line_it_credits_was_shipped(walmart_account):
    """The form asks for a refund reason only then; lines left out of the memo count as 0 units."""
    order = order_with_lines(walmart_account, SHIPPED, Line(qty=1, price="5.00"))
    items = list(order.items.order_by("pk"))
    shipped, open_ = items
    assert refunds_units(items, MemoInput(quantities={shipped.pk: 1})) is True
    assert refunds_units(items, MemoInput(quantities={open_.pk: 1})) is False
    assert refunds_units(items, MemoInput(quantities={})) is False


@pytest.mark.parametrize(("channel", "status", "rule", "words"), [
    ("walmart", OrderStatus.CREATED, "R-CAN-4", "Created orders cannot be refunded by a credit memo: cancel it on "
     "Walmart; the status sync will mark it Canceled"),
    ("amazon", OrderStatus.PENDING, "R-CAN-4", "Pending (unpaid) Amazon orders cannot be refunded by a credit memo: "
     "cancel it on Amazon; the status sync will mark it Canceled"),
    ("walmart", OrderStatus.CANCELED, "R-CM-1", "Canceled orders have nothing left to credit"),
    ("amazon", OrderStatus.UNFULFILLABLE, "R-CM-2", "Unfulfillable Amazon orders cannot take a credit memo"),
    ("amazon", OrderStatus.PARTIALLY_SHIPPED, "R-CM-2", "Partially Shipped Amazon orders cannot take a credit memo"),
])
def test_r_cm_1_r_cm_2_orders_in_a_status_that_takes_no_memo_are_refused_in_words(
        walmart_account, amazon_account, channel, status, rule, words):
    order = create_order(account=walmart_account if channel == "walmart" else amazon_account, status=status)
    refused = refusal_for_status(order)
    assert (refused.rule, str(refused)) == (rule, words)


def test_r_acc_3_a_local_only_memo_is_logged_as_done_here_one_for_the_channel_as_queued(walmart_account):
    order = order_with_lines(walmart_account, SHIPPED)
    walmart_account.refund_on_credit_memo = False
    walmart_account.save()
    memo = credit_memo_create(order_id=order.pk, memo=MemoInput(quantities=dict.fromkeys(item_ids(order), 1),
                                                                refund_reason="DamagedItem"))
    sku = order.items.get().sku
    logged = order.logs.get(message__startswith=f"Credit memo #{memo.pk}: refunded")
    assert (logged.message, logged.type) == (f"Credit memo #{memo.pk}: refunded {sku} × 1; total {memo.grand_total} "
                                             "USD.", "success")


def test_r_cm_7_a_fee_as_large_as_the_refunded_price_is_taken(walmart_account):
    """The boundary: a fee of exactly the units' price leaves their tax and shipping to refund."""
    order = order_with_lines(walmart_account, Line(qty=1, price="1.00", tax="0.08", shipping="2.00", shipped=1))
    [item] = item_ids(order)
    memo = credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={item: 1}, shipping_refund=Decimal("2.00"),
                                                                 adjustment_fee=Decimal("1.00")))
    assert memo.grand_total == Decimal("2.08")


def test_r_cm_9_a_line_the_channel_refunded_beyond_its_charge_takes_nothing_more(walmart_account):
    """The channel refunded 13.00 of a line charged 12.80 (a refund made twice there): a memo of its
    unit is refused with the line's room, 0.00, before any adjustment or shipping is placed."""
    order = order_with_lines(walmart_account, SHIPPED)
    order.items.update(refunded_amount=Decimal("13.00"))
    [item] = order.items.all()
    refused = refusal(order, MemoInput(quantities={item.pk: 1}))
    assert (refused.rule, str(refused)) == (
        "R-CM-9", f"{item.sku}: at most 0.00 can be refunded on this line (price, tax and shipping of its shipped "
        "units, less what was refunded)")


def test_r_cm_9_an_adjustment_refund_beyond_what_all_the_lines_hold_is_refused_for_the_lines(walmart_account):
    order = order_with_lines(walmart_account, SHIPPED, SHIPPED)
    refused = refusal(order, MemoInput(quantities={item: 1 for item in item_ids(order)},
                                       adjustment_refund=Decimal("4.01")))  # 2 × 2.00 of shipping room left
    assert (refused.rule, str(refused)) == (
        "R-CM-9", "At most 25.60 can be refunded on these lines (price, tax and shipping of their shipped units, "
        "less what was refunded): lower the shipping or adjustment refund")


def test_r_cm_9_an_adjustment_below_one_is_refunded_once(walmart_account):
    order = order_with_lines(walmart_account, SHIPPED)
    [item] = item_ids(order)
    memo = credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={item: 1},
                                                                 adjustment_refund=Decimal("0.50")))
    assert memo.grand_total == Decimal("11.30")


def test_r_cm_9_shipping_gets_only_the_room_an_adjustment_left_on_the_line(walmart_account):
    """The line holds 2.00 beyond its unit: a 1.50 adjustment takes 1.50 of it, so 2.00 of shipping
    no longer fits."""
    order = order_with_lines(walmart_account, SHIPPED)
    [item] = item_ids(order)
    refused = refusal(order, MemoInput(quantities={item: 1}, adjustment_refund=Decimal("1.50"),
                                       shipping_refund=Decimal("2.00")))
    assert (refused.rule, str(refused)) == (
        "R-CM-9", "At most 12.80 can be refunded on these lines (price, tax and shipping of their shipped units, "
        "less what was refunded): lower the shipping or adjustment refund")


def test_r_cm_9_shipping_fits_in_the_room_an_adjustment_leaves(walmart_account):
    """2.00 of room beyond the unit: 0.50 of adjustment leaves 1.50, so 1.00 of shipping fits."""
    order = order_with_lines(walmart_account, SHIPPED)
    [item] = item_ids(order)
    memo = credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={item: 1}, shipping_refund=Decimal("1.00"),
                                                                 adjustment_refund=Decimal("0.50")))
    assert memo.grand_total == Decimal("12.30")
