"""The last units of a line whose earlier refunds gave back more than their own units' price (an
adjustment refund folded into the line, a refund made on the channel): they take what the line
still holds, so the line ends refunded to exactly what was charged, never refused for ever and
never beyond (R-CM-9)."""

from decimal import Decimal

import pytest

from creditmemos.models import CreditMemo
from creditmemos.rules import MemoInput, line_refundable, within_line
from creditmemos.services import (
    credit_memo_create,
    credit_memo_defaults,
    credit_memo_shipping_for,
)
from orders.models import ChannelAction, Order, OrderItem
from tests.creditmemos.test_exactly_once import shipped_walmart_order
from tests.helpers import drain_actions
from tests.money import Line, item_ids, order_with_lines

pytestmark = pytest.mark.django_db
TWO_SHIPPED = Line(qty=2, price="10.00", tax="1.60", shipping="4.00", shipped=2)


def charged(item: OrderItem) -> Decimal:
    return item.unit_price * item.qty_ordered + item.tax + item.shipping_charge


def test_the_last_unit_after_an_adjustment_refund_takes_what_the_line_holds(walmart_account):
    """Unit 1 went with its 2.00 shipping and a 5.00 adjustment refund (17.80): 7.80 of the line's 25.60
    is left, and the default memo for unit 2 refunds exactly that, its tax whole and 3.00 less price."""
    order = order_with_lines(walmart_account, TWO_SHIPPED)
    [item_id] = item_ids(order)
    first = credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={item_id: 1}, shipping_refund=Decimal("2.00"),
                                                                adjustment_refund=Decimal("5.00")))
    assert first.grand_total == Decimal("17.80")

    defaults = credit_memo_defaults(order_id=order.pk)
    assert (defaults.quantities, defaults.shipping_refund) == ({item_id: 1}, Decimal("0.00"))
    last = credit_memo_create(order_id=order.pk, memo=defaults)

    assert (last.items_total, last.shipping_refund, last.grand_total) == (Decimal("7.80"), 0, Decimal("7.80"))
    assert last.items.get().amount == Decimal("7.00") and last.items.get().tax == Decimal("0.80")
    item = OrderItem.objects.get(pk=item_id)
    assert (item.qty_refunded, item.refunded_amount) == (2, charged(item))
    assert Order.objects.get(pk=order.pk).refunded_total == order.grand_total
    assert order.logs.filter(message=f"Credit memo #{last.pk}: {item.sku}: 3.00 less than the price of its units "
                             "is refunded, because earlier refunds already gave back that much of this line.").exists()


def test_a_unit_the_earlier_refunds_gave_back_in_full_is_credited_with_nothing_to_send(walmart_account):
    order = order_with_lines(walmart_account, Line(qty=2, price="10.00", shipped=2))
    [item_id] = item_ids(order)
    credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={item_id: 1}, adjustment_refund=Decimal("10.00")))
    sent_before = ChannelAction.objects.filter(order=order).count()

    last = credit_memo_create(order_id=order.pk, memo=credit_memo_defaults(order_id=order.pk))

    assert (last.grand_total, last.state) == (0, CreditMemo.State.DONE)
    assert ChannelAction.objects.filter(order=order).count() == sent_before  # nothing for Walmart to confirm
    item = OrderItem.objects.get(pk=item_id)
    assert (item.qty_refunded, item.refunded_amount) == (2, Decimal("20.00"))
    messages = list(order.logs.filter(message__startswith=f"Credit memo #{last.pk}").values_list("message", flat=True))
    assert any(m.endswith("nothing left to send to Walmart.") for m in messages)
    assert f"Credit memo #{last.pk}: {item.sku}: nothing is left to refund on this line (earlier refunds gave all of it " \
        "back); its units are credited here only." in messages


@pytest.mark.parametrize(("line", "adjustment", "credited", "refunds", "cut"), [
    # 3 units at 10.00: after 15.00 for the first, 15.00 is left for the other two (5.00 less).
    (Line(qty=3, price="10.00", shipped=3), "5.00", 2, ("15.00", "0.00"), "5.00"),
    # 0.70 is left after a 10.10 adjustment: the tax's 0.70 and none of the price.
    (Line(qty=2, price="10.00", tax="1.60", shipped=2), "10.10", 1, ("0.00", "0.70"), "10.10"),
])
def test_the_memo_says_how_much_less_its_units_give_back(walmart_account, line, adjustment, credited, refunds, cut):
    order = order_with_lines(walmart_account, line)
    [item_id] = item_ids(order)
    credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={item_id: 1}, adjustment_refund=Decimal(adjustment)))

    last = credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={item_id: credited}))

    credited_line = last.items.get()
    assert (credited_line.amount, credited_line.tax) == tuple(Decimal(money) for money in refunds)
    item = OrderItem.objects.get(pk=item_id)
    assert item.refunded_amount == charged(item)
    assert order.logs.filter(message=f"Credit memo #{last.pk}: {item.sku}: {cut} less than the price of its units is "
                             "refunded, because earlier refunds already gave back that much of this line.").exists()


@pytest.mark.parametrize(("refunded", "expected"), [
    ("0.00", ("10.00", "0.80")),   # a line untouched: the unit's own price and tax
    ("9.00", ("10.00", "0.80")),   # 10.80 left after the other unit: still whole
    ("12.00", ("8.80", "0.80")),   # 9.60 left: the price gives way, the tax stays
    ("20.90", ("0.00", "0.70")),   # 0.70 left: less than the tax
    ("21.60", ("0.00", "0.00")),   # nothing left
    ("30.00", ("0.00", "0.00")),   # more refunded than charged (channel data): never negative
])
def test_within_line_takes_the_price_first_and_never_more_than_the_line_holds(walmart_account, refunded, expected):
    order = order_with_lines(walmart_account, Line(qty=2, price="10.00", tax="1.60", shipped=2))
    item = order.items.get()
    item.refunded_amount = Decimal(refunded)
    unit = within_line(item, price=Decimal("10.00"), tax=Decimal("0.80"))
    assert unit == tuple(Decimal(money) for money in expected)
    assert sum(unit) <= max(line_refundable(item), 0)


@pytest.mark.parametrize("adjustment", ["1.00", "4.00"])
def test_on_the_sandbox_the_line_ends_refunded_to_what_it_was_charged(sandbox, wm_account, adjustment):
    """Walmart refuses a refund beyond what a line was charged: the last unit's refund lands, and the
    sandbox's record of the line is ours, to the cent."""
    order, channel = shipped_walmart_order(sandbox, wm_account, qty=2)
    [item_id] = item_ids(order)
    credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={item_id: 1}, adjustment_refund=Decimal(adjustment)))
    drain_actions()

    last = credit_memo_create(order_id=order.pk, memo=credit_memo_defaults(order_id=order.pk))
    drain_actions()

    last.refresh_from_db()
    assert last.state == CreditMemo.State.DONE, last.error
    item = OrderItem.objects.get(pk=item_id)
    assert -channel.lines[0].refunded == item.refunded_amount
    assert 0 < last.grand_total and item.refunded_amount <= charged(item)
    assert sum(memo.grand_total for memo in CreditMemo.objects.filter(order=order)) == item.refunded_amount


def test_the_default_shipping_fits_what_the_units_leave_to_the_cent_of_their_tax(walmart_account):
    """1.00 tax over 3 units rounds to 0.33, 0.34, 0.33: the second unit carries 0.34. With 10.84 left on
    the line, that unit takes 10.34 and leaves 0.50 of its 1.00 shipping: the default asks exactly that
    (0.51 would be refused by the memo it proposes)."""
    order = order_with_lines(walmart_account, Line(qty=3, price="10.00", tax="1.00", shipping="3.00", shipped=3))
    [item_id] = item_ids(order)
    OrderItem.objects.filter(pk=item_id).update(qty_refunded=1, refunded_amount=Decimal("23.16"))
    Order.objects.filter(pk=order.pk).update(refunded_total=Decimal("23.16"))
    one = MemoInput(quantities={item_id: 1})

    assert credit_memo_shipping_for(order_id=order.pk, memo=one) == Decimal("0.50")
    memo = credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={item_id: 1}, shipping_refund=Decimal("0.50")))
    assert memo.grand_total == Decimal("10.84")


def test_the_default_shipping_of_several_units_counts_all_their_price(walmart_account):
    """17.00 is left of a line of 3 × 10.00 + 3.00 shipping after unit 1 took 16.00 (a 5.00 adjustment
    with it): units 2 and 3 take all 17.00, so no shipping is left to default."""
    order = order_with_lines(walmart_account, Line(qty=3, price="10.00", shipping="3.00", shipped=3))
    [item_id] = item_ids(order)
    OrderItem.objects.filter(pk=item_id).update(qty_refunded=1, refunded_amount=Decimal("16.00"))
    Order.objects.filter(pk=order.pk).update(refunded_total=Decimal("16.00"))

    assert credit_memo_shipping_for(order_id=order.pk, memo=MemoInput(quantities={item_id: 2})) == Decimal("0.00")


def test_a_memo_whose_units_fit_their_line_says_nothing_of_a_cut(walmart_account):
    order = order_with_lines(walmart_account, TWO_SHIPPED)
    [item_id] = item_ids(order)
    memo = credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={item_id: 1}))
    assert memo.grand_total == Decimal("10.80")
    assert not order.logs.filter(message__contains="less than the price").exists()
