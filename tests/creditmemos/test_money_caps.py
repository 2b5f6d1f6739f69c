"""The money caps of creditmemos/rules.py, each on a case where it is the only thing that stops a
wrong memo (each test was checked against a hand-made mutant switching its rule off: see the
mutation section of the README)."""

from decimal import Decimal

import pytest

from creditmemos.models import CreditMemo
from creditmemos.rules import CreditMemoRefused, MemoInput
from creditmemos.services import credit_memo_create, credit_memo_defaults
from orders.models import Order, OrderItem, OrderStatus
from tests.money import Line, item_ids, order_with_lines

pytestmark = pytest.mark.django_db


def refusal(order, memo: MemoInput) -> CreditMemoRefused:
    with pytest.raises(CreditMemoRefused) as refused:
        credit_memo_create(order_id=order.pk, memo=memo)
    assert not CreditMemo.objects.filter(order=order).exists()  # nothing half-done
    return refused.value


def test_r_cm_9_order_cap_never_refunds_more_than_was_paid(walmart_account):
    """Refunds recorded on the order (e.g. an earlier refund on the channel) leave 5.00 of 30.00:
    a memo for a 10.00 line is refused although that line alone still holds its money."""
    order = order_with_lines(walmart_account, Line(qty=1, price="10.00", shipped=1), Line(qty=1, price="20.00", shipped=1))
    Order.objects.filter(pk=order.pk).update(refunded_total=Decimal("25.00"))
    first, _ = item_ids(order)

    refused = refusal(order, MemoInput(quantities={first: 1}))
    assert refused.rule == "R-CM-9" and "At most 5.00 USD can be refunded on this order (30.00 paid, 25.00 refunded already)" in str(refused)


def test_r_cm_9_line_cap_counts_money_already_refunded_on_the_line(walmart_account):
    """4.00 of line 1 was refunded on the channel without units: crediting its unit now gives back
    the 6.00 the line still holds, not 10.00 (14.00 from a 10.00 line), although the order as a
    whole still holds enough; the memo says why."""
    order = order_with_lines(walmart_account, Line(qty=1, price="10.00", shipped=1), Line(qty=1, price="50.00", shipped=1))
    first = item_ids(order)[0]
    OrderItem.objects.filter(pk=first).update(refunded_amount=Decimal("4.00"))
    Order.objects.filter(pk=order.pk).update(refunded_total=Decimal("4.00"))

    memo = credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={first: 1}))
    assert (memo.items_total, memo.grand_total) == (Decimal("6.00"), Decimal("6.00"))
    item = OrderItem.objects.get(pk=first)
    assert (item.qty_refunded, item.refunded_amount) == (1, Decimal("10.00"))
    assert order.logs.filter(message__contains="4.00 less than the price of its units is refunded").exists()


def test_r_cm_6_shipping_beyond_what_the_refunded_lines_carry_is_refused(walmart_account):
    """4.00 of shipping is left on the order, but the one line refunded carried 1.50 of it: the rest
    can't be spread anywhere and must not vanish from the refund while the memo claims it."""
    order = order_with_lines(walmart_account, Line(qty=1, price="10.00", shipping="1.50", shipped=1),
                             Line(qty=1, price="10.00", shipping="2.50", shipped=1))
    refused = refusal(order, MemoInput(quantities={item_ids(order)[0]: 1}, shipping_refund=Decimal("4.00")))
    assert refused.rule == "R-CM-9" and "At most 11.50 can be refunded on these lines" in str(refused)


def test_r_cm_9_units_left_to_credit_exclude_canceled_units(walmart_account):
    order = order_with_lines(walmart_account, Line(qty=3, price="10.00", tax="2.40", shipped=2, canceled=1))
    [item] = item_ids(order)

    assert credit_memo_defaults(order_id=order.pk).quantities == {item: 2}
    refused = refusal(order, MemoInput(quantities={item: 3}))
    assert refused.rule == "R-CM-9" and "at most 2 unit(s) can be credited on this line" in str(refused)


def test_r_cm_6_shipping_cap_counts_shipping_refunded_by_earlier_memos(walmart_account):
    order = order_with_lines(walmart_account, Line(qty=1, price="10.00", shipping="3.00", shipped=1),
                             Line(qty=1, price="10.00", shipping="3.00", shipped=1))
    first, second = item_ids(order)
    credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={first: 1}, shipping_refund=Decimal("3.00")))

    assert credit_memo_defaults(order_id=order.pk).shipping_refund == Decimal("3.00")
    refused = refusal_after_first(order, MemoInput(quantities={second: 1}, shipping_refund=Decimal("3.50")))
    assert refused.rule == "R-CM-6" and "At most 3.00 USD of shipping can be refunded" in str(refused)


def refusal_after_first(order, memo: MemoInput) -> CreditMemoRefused:
    before = CreditMemo.objects.filter(order=order).count()
    with pytest.raises(CreditMemoRefused) as refused:
        credit_memo_create(order_id=order.pk, memo=memo)
    assert CreditMemo.objects.filter(order=order).count() == before
    return refused.value


@pytest.mark.parametrize("split", [[1, 1, 1], [2, 1], [1, 2]])
def test_r_cm_9_partial_memos_add_up_to_the_full_refund_to_the_cent(walmart_account, split):
    """Tax 1.00 over 3 units: per-unit rounding would refund 0.33 three times (0.99)."""
    line = Line(qty=3, price="3.33", tax="1.00", shipping="1.00", shipped=3)
    whole = order_with_lines(walmart_account, line)
    credit_memo_create(order_id=whole.pk, memo=MemoInput(quantities={item_ids(whole)[0]: 3}))
    partial = order_with_lines(walmart_account, line)
    for qty in split:
        credit_memo_create(order_id=partial.pk, memo=MemoInput(quantities={item_ids(partial)[0]: qty}))

    whole_item, partial_item = OrderItem.objects.get(order=whole), OrderItem.objects.get(order=partial)
    assert partial_item.refunded_amount == whole_item.refunded_amount == Decimal("10.99")
    taxes = CreditMemo.objects.filter(order=partial).values_list("items__tax", flat=True)
    assert sum(taxes, Decimal("0")) == Decimal("1.00")


def test_r_cm_9_cent_partial_memos_refund_exactly_what_was_paid(walmart_account):
    """Four one-unit memos of a 0.06 line (0.01 each plus tax shares 0.00, 0.01, 0.01, 0.00) end at
    exactly 0.06 refunded: the order's total is added as decimals, never as floats (on SQLite the
    database's own addition made it 0.060000000000000005, refused by the paid cap)."""
    order = order_with_lines(walmart_account, Line(qty=4, price="0.01", tax="0.02", shipped=4))
    [item] = item_ids(order)
    for _ in range(4):
        credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={item: 1}))

    order.refresh_from_db()
    assert order.refunded_total == order.grand_total == Decimal("0.06")


def test_r_cm_4_cancel_without_buyer_request_is_not_sent_as_buyer_canceled(walmart_account):
    order = order_with_lines(walmart_account, Line(qty=2, price="10.00"), Line(qty=1, price="5.00",
                                                                             buyer_cancel_requested=True))
    assert order.status == OrderStatus.UNSHIPPED
    plain, asked = item_ids(order)
    memo = credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={plain: 2, asked: 1}))
    sent = {action.payload["reason"]: {line["line_number"] for line in action.payload["lines"]}
            for action in memo.channel_actions.all()}
    lines = dict(OrderItem.objects.filter(order=order).values_list("pk", "channel_line_id"))
    assert sent == {"SELLER_CANCEL_OUT_OF_STOCK": {lines[plain]}, "CUSTOMER_REQUESTED_SELLER_TO_CANCEL": {lines[asked]}}
