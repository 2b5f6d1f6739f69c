"""Issue 9 §1: a refund through a Walmart return (RMA) books what Walmart refunds there. Walmart
takes quantities on a return and works the money out itself from the return's own figures (each
unit's price and tax, the excess tax on the line's last item); a memo that priced the units with
its own split of the line's tax showed 13.51 refunded where Walmart paid 13.50."""

from decimal import Decimal

import pytest

from creditmemos.models import CreditMemo
from creditmemos.rules import MemoInput
from creditmemos.services import credit_memo_create, credit_memo_preview
from orders.models import OrderReturnLine
from orders.services.importing import account_import_orders
from tests.creditmemos.test_exactly_once import shipped_walmart_order
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

    preview = credit_memo_preview(order_id=order.pk, memo=MemoInput(quantities={item.pk: 2}))
    assert preview.grand_total == Decimal("8.34") + Decimal("0.67")
