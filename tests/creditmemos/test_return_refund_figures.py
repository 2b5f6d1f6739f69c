"""Issue 9 §1: a refund through a Walmart return (RMA) books what Walmart refunds there. Walmart
takes quantities on a return and works the money out itself from the return's own figures (each
unit's price and tax, the excess tax on the line's last item); a memo that priced the units with
its own split of the line's tax showed 13.51 refunded where Walmart paid 13.50."""

from dataclasses import replace
from decimal import Decimal

import pytest

from creditmemos.models import CreditMemo
from creditmemos.rules import CANCEL, CreditMemoRefused, MemoInput
from creditmemos.services import credit_memo_create, credit_memo_defaults, credit_memo_preview
from orders.models import Order, OrderReturnLine
from orders.services.importing import account_import_orders
from orders.services.shipments import order_ship
from tests.creditmemos.test_exactly_once import UPS, shipped_walmart_order
from tests.helpers import drain_actions

pytestmark = pytest.mark.django_db


def test_each_return_refund_books_what_walmart_refunds_to_the_cent(sandbox, wm_account, fast_retries):
    # 3 × 4.17 with 1.00 tax: 0.33 a unit on the return, and the cent left over on its last item.
    order, channel = shipped_walmart_order(sandbox, wm_account, qty=3, price="4.17")
    item = order.items.get()
    assert item.tax == Decimal("1.00")
    return_id = sandbox.walmart.create_return(order.channel_order_id)
    account_import_orders(account_id=wm_account.pk)
    return_line = OrderReturnLine.objects.get(order_return__return_order_id=return_id)
    assert (return_line.unit_price, return_line.unit_tax, return_line.excess_tax, return_line.last_item) == (
        Decimal("4.17"), Decimal("0.33"), Decimal("0.01"), True)

    booked = []
    for _unit in range(3):
        paid_before = -channel.lines[0].refunded
        preview = credit_memo_preview(order_id=order.pk, memo=MemoInput(quantities={item.pk: 1}))
        memo = credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={item.pk: 1}))
        drain_actions()
        memo.refresh_from_db()
        assert memo.state == CreditMemo.State.DONE
        assert memo.grand_total == preview.grand_total
        assert memo.grand_total == -channel.lines[0].refunded - paid_before  # what Walmart refunded for it
        booked.append(memo.grand_total)

    assert booked == [Decimal("4.50"), Decimal("4.50"), Decimal("4.51")]
    assert len(sandbox.requests.all(method="POST", path=r"^/v3/orders/.*/refund$")) == 0  # all through the return
    item.refresh_from_db()
    order.refresh_from_db()
    assert item.refunded_amount == order.refunded_total == -channel.lines[0].refunded == Decimal("13.51")


def test_a_return_without_per_unit_figures_is_priced_as_any_refund(sandbox, wm_account, fast_retries):
    """An older return, imported before Walmart's per-unit figures were read: the units' price and
    their share of the line's tax, as before."""
    order, _channel = shipped_walmart_order(sandbox, wm_account, qty=3, price="4.17")
    item = order.items.get()
    sandbox.walmart.create_return(order.channel_order_id)
    account_import_orders(account_id=wm_account.pk)
    OrderReturnLine.objects.update(unit_price=None, unit_tax=None)
    credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={item.pk: 1}))  # 4.17 + 0.33

    preview = credit_memo_preview(order_id=order.pk, memo=MemoInput(quantities={item.pk: 2}))
    assert preview.grand_total == Decimal("8.34") + Decimal("0.67")  # the tax of units 2 and 3


def test_walmarts_excess_charge_goes_with_the_returned_lines_last_item_only(sandbox, wm_account, fast_retries):
    order, _channel = shipped_walmart_order(sandbox, wm_account, qty=3, price="4.17")
    [item] = order.items.all()
    sandbox.walmart.create_return(order.channel_order_id)
    account_import_orders(account_id=wm_account.pk)
    OrderReturnLine.objects.update(excess_price=Decimal("0.02"))  # as a return may show it

    def price(units: int) -> Decimal:
        [line] = credit_memo_preview(order_id=order.pk, memo=MemoInput(quantities={item.pk: units})).lines
        return line.amount

    assert (price(2), price(3)) == (Decimal("8.34"), Decimal("12.53"))


def test_units_not_returned_take_their_share_of_the_tax_after_the_returned_ones(sandbox, wm_account, fast_retries):
    """4 units with 1.33 tax, 2 of them returned: a memo of 3 refunds the returned two at 0.33 each
    and the third at its share after them, 0.34 (units 1–3 hold 1.00 of the tax)."""
    order, channel = shipped_walmart_order(sandbox, wm_account, qty=4, price="4.17")
    [item] = order.items.all()
    assert item.tax == Decimal("1.33")
    return_id = sandbox.walmart.create_return(order.channel_order_id)
    sandbox.walmart.returns[return_id].lines[0].update(qty=2, lastItem=False)
    account_import_orders(account_id=wm_account.pk)

    memo = _memo_matches_walmart(channel, order, MemoInput(quantities={item.pk: 3}))
    assert memo.grand_total == Decimal("4.17") * 3 + Decimal("1.00")


def _memo_matches_walmart(channel, order, memo_input: MemoInput) -> CreditMemo:
    """Create the memo and carry it out: its total is what Walmart refunded for it, its preview too."""
    paid_before = -sum((line.refunded for line in channel.lines), Decimal("0"))
    preview = credit_memo_preview(order_id=order.pk, memo=memo_input)
    memo = credit_memo_create(order_id=order.pk, memo=memo_input)
    drain_actions()
    memo.refresh_from_db()
    assert memo.state == CreditMemo.State.DONE
    assert memo.grand_total == preview.grand_total
    assert memo.grand_total == -sum((line.refunded for line in channel.lines), Decimal("0")) - paid_before
    return memo


def _charged(channel_line) -> Decimal:
    return channel_line.price * channel_line.qty + channel_line.tax + channel_line.shipping


def _two_of_three_shipped(sandbox, account):
    """3 × 4.17 (1.00 tax), 2 units shipped."""
    [po] = sandbox.walmart.create_orders(count=1, qty=3, price="4.17")
    account_import_orders(account_id=account.pk)
    order = Order.objects.get(channel_order_id=po)
    [item] = order.items.all()
    order_ship(order_id=order.pk, tracking=UPS, quantities={item.pk: 2})
    drain_actions()
    return order, sandbox.walmart.orders[po]


@pytest.mark.parametrize("first_refunded", ["outside the return", "as a canceled unit"])
def test_the_last_units_of_a_returned_line_take_the_cent_the_returns_figures_leave(sandbox, wm_account, fast_retries,
                                                                                   first_refunded):
    """One unit credited first (refunded before the buyer's return of the line, or canceled before
    the others shipped and were returned): Walmart's per-unit 0.33 on the two returned units left
    0.01 of the line's tax that no memo could refund (outside tester). It goes out with them."""
    if first_refunded == "outside the return":
        order, channel = shipped_walmart_order(sandbox, wm_account, qty=3, price="4.17")
        [item] = order.items.all()
        _memo_matches_walmart(channel, order, MemoInput(quantities={item.pk: 1}, shipping_refund=Decimal("0.67")))
    else:
        order, channel = _two_of_three_shipped(sandbox, wm_account)
        [item] = order.items.all()
        credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={item.pk: 1}, credit_first={item.pk: CANCEL}))
        drain_actions()
    sandbox.walmart.create_return(order.channel_order_id)
    account_import_orders(account_id=wm_account.pk)

    _memo_matches_walmart(channel, order, credit_memo_defaults(order_id=order.pk))

    item.refresh_from_db()
    assert item.qty_canceled + item.qty_refunded == 3
    assert channel.lines[0].refundable == 0  # every cent Walmart charged for the line is back, none twice
    assert item.refunded_amount == -channel.lines[0].refunded


def test_a_fee_comes_off_a_line_not_refunded_through_a_return(sandbox, wm_account, fast_retries):
    """The full memo with a 0.50 fee on an order whose first line the buyer returned: Walmart refunds
    returned units in full, so the fee comes off the second line (it sat on the returned line: the
    preview showed it, Save refused it)."""
    order, channel = shipped_walmart_order(sandbox, wm_account, lines=2, qty=3, price="4.17")
    sandbox.walmart.create_return(order.channel_order_id, line_numbers=["1"])
    account_import_orders(account_id=wm_account.pk)
    full = credit_memo_defaults(order_id=order.pk)

    memo = _memo_matches_walmart(channel, order, replace(full, adjustment_fee=Decimal("0.50")))

    first, second = order.items.order_by("pk")
    amounts = dict(memo.items.values_list("order_item_id", "amount"))
    assert amounts == {first.pk: Decimal("12.51"), second.pk: Decimal("12.01")}


def test_an_adjustment_refund_rides_on_every_refunded_line_in_turn(sandbox, wm_account, fast_retries):
    """12.00 of adjustment over two lines of one unit each: the first line holds 10.34 more, the
    second takes the rest (it was all put on the first line and refused)."""
    order, channel = shipped_walmart_order(sandbox, wm_account, lines=2, qty=3, price="4.17")
    memo = _memo_matches_walmart(channel, order, MemoInput(
        quantities={item.pk: 1 for item in order.items.all()}, adjustment_refund=Decimal("12.00")))
    assert memo.grand_total == Decimal("4.50") * 2 + Decimal("12.00")


def test_units_beyond_a_partial_return_go_through_the_order_refund(sandbox, wm_account, fast_retries):
    """A return of 2 of a line's 3 units and one of them refunded: a memo of the last 2 units sends
    one through the return and the other through the order's refund, never more than the return holds."""
    order, channel = shipped_walmart_order(sandbox, wm_account, qty=3, price="4.17")
    return_id = sandbox.walmart.create_return(order.channel_order_id)
    sandbox.walmart.returns[return_id].lines[0].update(qty=2, lastItem=False)
    account_import_orders(account_id=wm_account.pk)
    [item] = order.items.all()

    _memo_matches_walmart(channel, order, MemoInput(quantities={item.pk: 1}))
    _memo_matches_walmart(channel, order, MemoInput(quantities={item.pk: 2}))

    assert sandbox.walmart.returns[return_id].lines[0]["refunded"] == 2
    assert len(sandbox.requests.all(method="POST", path=r"^/v3/orders/.*/refund$")) == 1  # the unit not returned
    assert -channel.lines[0].refunded == _charged(channel.lines[0]) - channel.lines[0].shipping


def test_a_second_return_is_not_asked_to_refund_nothing(sandbox, wm_account, fast_retries):
    """Two returns of the line; a memo the first return covers asks nothing of the second."""
    order, channel = shipped_walmart_order(sandbox, wm_account, qty=3, price="4.17")
    first, second = (sandbox.walmart.create_return(order.channel_order_id) for _ in range(2))
    account_import_orders(account_id=wm_account.pk)
    [item] = order.items.all()

    _memo_matches_walmart(channel, order, MemoInput(quantities={item.pk: 1}))
    assert [sandbox.walmart.returns[r].lines[0]["refunded"] for r in (first, second)] == [1, 0]
    assert len(sandbox.requests.all(method="POST", path=r"^/v3/returns/.*/refund$")) == 1


def test_a_fee_larger_than_the_price_not_returned_says_returned_units_keep_none(sandbox, wm_account, fast_retries):
    order, _channel = shipped_walmart_order(sandbox, wm_account, lines=2, qty=3, price="4.17")
    sandbox.walmart.create_return(order.channel_order_id, line_numbers=["1"])
    account_import_orders(account_id=wm_account.pk)
    full = credit_memo_defaults(order_id=order.pk)
    with pytest.raises(CreditMemoRefused) as refused:
        credit_memo_create(order_id=order.pk, memo=replace(full, adjustment_fee=Decimal("12.52")))
    assert str(refused.value) == ("The adjustment fee is larger than the refund: it comes off the price of the "
                                  "refunded items (not of those refunded through the buyer's return), at most "
                                  "12.51 USD here")


def _partly_shipped_and_returned(sandbox, account, *, canceled_by_walmart: bool):
    """2 of 3 units shipped and returned by the buyer; the third canceled by Walmart itself (its tax
    never charged) or still open."""
    order, channel = _two_of_three_shipped(sandbox, account)
    if canceled_by_walmart:
        sandbox.walmart.channel_cancel(order.channel_order_id)
    sandbox.walmart.create_return(order.channel_order_id)
    account_import_orders(account_id=account.pk)
    return order, channel


def test_one_memo_canceling_the_open_unit_and_refunding_the_returned_ones_ends_the_line_to_the_cent(
        sandbox, wm_account, fast_retries):
    """The cancel's 0.33 counts as credited tax of the line: the two returned units then take the
    0.67 left, 0.66 through the return and the cent through the order's refund."""
    order, channel = _partly_shipped_and_returned(sandbox, wm_account, canceled_by_walmart=False)
    memo = credit_memo_create(order_id=order.pk, memo=credit_memo_defaults(order_id=order.pk))
    drain_actions()
    memo.refresh_from_db()
    assert memo.state == CreditMemo.State.DONE
    assert sorted(memo.items.values_list("action", "qty", "tax")) == [("cancel", 1, Decimal("0.33")),
                                                                      ("refund", 2, Decimal("0.67"))]
    assert channel.lines[0].refundable == 0


def test_a_unit_walmart_canceled_itself_leaves_the_returned_ones_their_own_tax(sandbox, wm_account, fast_retries):
    """Walmart canceled the third unit on its own (no memo of ours knows its tax): the returned two
    are refunded at the return's figures, with no cent added for the line's last units."""
    order, channel = _partly_shipped_and_returned(sandbox, wm_account, canceled_by_walmart=True)
    [item] = order.items.all()
    assert item.qty_canceled == 1
    memo = _memo_matches_walmart(channel, order, credit_memo_defaults(order_id=order.pk))
    assert list(memo.items.values_list("action", "qty", "tax")) == [("refund", 2, Decimal("0.66"))]
