"""How a memo's shipping refund is split over its lines to the cent, and which units of a partly
shipped line a memo refunds (R-CM-6, R-CM-9): the rules `make mutation` found unguarded in
creditmemos/rules.py after the shipping split (tools/mutation_survivors.md)."""

from dataclasses import dataclass
from decimal import Decimal

import pytest

from creditmemos.rules import (
    CANCEL,
    NO_RETURNS,
    MemoInput,
    _split_in_proportion,
    plan_credit_memo,
    refunded_units,
    refunds_units,
    remaining_shipping,
    shipping_for_quantities,
)
from tests.money import Line, order_with_lines

pytestmark = pytest.mark.django_db
D = Decimal


@dataclass(eq=False)
class Share:
    """What the split reads and writes of a planned line: its shipping."""

    shipping: Decimal = D("0.00")


def split(total: str, weights: list[str], headroom: list[str], *, shipping: list[str] | None = None):
    lines = [Share(D(amount)) for amount in shipping or ["0.00"] * len(weights)]
    room = {id(line): D(value) for line, value in zip(lines, headroom)}
    left = _split_in_proportion(D(total), lines, weights={id(line): D(w) for line, w in zip(lines, weights)},
                                headroom=room)
    return [line.shipping for line in lines], [room[id(line)] for line in lines], left


def test_r_cm_6_the_cent_rounding_leaves_goes_to_the_line_it_falls_on_even_beside_a_full_line():
    """0.10 over three equal lines is 0.03 + 0.04 + 0.03. The last line's share is exactly what it has
    room for: it takes it in the same round, so the others' shares do not move."""
    assert split("0.10", ["1", "1", "1"], ["1.00", "1.00", "0.03"]) == (
        [D("0.03"), D("0.04"), D("0.03")], [D("0.97"), D("0.96"), D("0.00")], 0)


def test_r_cm_6_a_line_without_room_takes_what_it_has_and_the_rest_goes_to_the_others():
    assert split("1.00", ["1", "1"], ["0.10", "5.00"]) == ([D("0.10"), D("0.90")], [D("0.00"), D("4.10")], 0)


def test_r_cm_9_shipping_that_fits_nowhere_is_returned_and_a_line_of_no_weight_takes_none():
    assert split("0.05", ["1", "0"], ["0.01", "1.00"]) == ([D("0.01"), D("0.00")], [D("0.00"), D("1.00")],
                                                           D("0.04"))


def test_r_cm_6_weights_below_one_count_as_well():
    assert split("1.00", ["0.25", "0.75"], ["5.00", "5.00"])[0] == [D("0.25"), D("0.75")]


def test_r_cm_6_the_split_adds_to_shipping_a_line_already_carries():
    shares, room, _ = split("1.00", ["1", "1"], ["0.20", "5.00"], shipping=["1.00", "2.00"])
    assert (shares, room) == ([D("1.20"), D("2.80")], [D("0.00"), D("4.20")])


def test_r_cm_6_shipping_is_split_over_the_refunded_lines_by_what_each_credits_tax_included(walmart_account):
    """12.00 and 10.00 credited (tax included): 2.20 of shipping goes 1.20 and 1.00."""
    order = order_with_lines(walmart_account, Line(qty=1, price="10.00", tax="2.00", shipping="5.00", shipped=1),
                             Line(qty=1, price="10.00", shipping="5.00", shipped=1))
    items = list(order.items.order_by("pk"))
    plan = plan_credit_memo(order=order, items=items, memo=MemoInput(
        quantities={item.pk: 1 for item in items}, shipping_refund=D("2.20")))
    assert [line.shipping for line in plan.lines] == [D("1.20"), D("1.00")]


def test_r_cm_6_a_shipping_only_refund_follows_the_shipping_charged_for_each_lines_shipped_units(walmart_account):
    """1.00 of shipping on 3 units per line: 0.33 for the one shipped unit of the first line, 0.67 for
    the two of the second; a 0.50 refund splits 0.16 / 0.34 (0.17 / 0.33 if the first line's share
    were counted after a unit)."""
    order = order_with_lines(walmart_account, Line(qty=3, price="10.00", shipping="1.00", shipped=1),
                             Line(qty=3, price="10.00", shipping="1.00", shipped=2))
    items = list(order.items.order_by("pk"))
    plan = plan_credit_memo(order=order, items=items, memo=MemoInput(quantities={}, shipping_refund=D("0.50"),
                                                                     refund_reason="DamagedItem"))
    assert [line.shipping for line in plan.lines] == [D("0.16"), D("0.34")]


def test_r_cm_9_units_already_refunded_are_not_refunded_again(walmart_account):
    order = order_with_lines(walmart_account, Line(qty=3, price="10.00", shipped=3))
    item = order.items.get()
    item.qty_refunded = 1
    assert refunded_units(item, 3) == 2


def test_r_cm_4_a_line_the_operator_chose_to_cancel_first_refunds_nothing_and_no_shipping(walmart_account):
    """Partly shipped (1 of 2), one unit credited, canceled first as the operator chose: no unit is
    refunded, so no refund reason is asked and no shipping is refunded by default."""
    order = order_with_lines(walmart_account, Line(qty=2, price="10.00", shipping="4.00", shipped=1))
    items = list(order.items.all())
    [item] = items
    refund_first = MemoInput(quantities={item.pk: 1})
    cancel_first = MemoInput(quantities={item.pk: 1}, credit_first={item.pk: CANCEL})
    assert refunds_units(items, refund_first) and not refunds_units(items, cancel_first)
    assert shipping_for_quantities(order, items, refund_first, D("0.00"), NO_RETURNS) == D("2.00")
    assert shipping_for_quantities(order, items, cancel_first, D("0.00"), NO_RETURNS) == D("0.00")


def test_r_cm_6_shipping_left_takes_off_the_first_canceled_units_share_to_the_cent(walmart_account):
    """1.00 over 3 units is 0.33 / 0.34 / 0.33: one canceled unit returned 0.33, leaving 0.67."""
    order = order_with_lines(walmart_account, Line(qty=3, price="10.00", shipping="1.00", canceled=1))
    assert remaining_shipping(order, list(order.items.all()), D("0.00")) == D("0.67")
