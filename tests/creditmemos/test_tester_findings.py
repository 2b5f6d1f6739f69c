"""Issue 10 §5 / issue 9, as an outside tester found them: the shipping refund split over the memo's
lines, a partly shipped line's shipped unit refunded alone, the form keeping its entries after a
refusal, the shipping of canceled units counted once, and money with its currency."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from creditmemos.rules import CANCEL, CreditMemoRefused, MemoInput
from creditmemos.services import credit_memo_create, credit_memo_preview
from orders.models import ChannelAction, Order
from orders.selectors import order_detail, order_totals
from orders.services.importing import account_import_orders
from orders.services.shipments import Tracking, order_ship
from tests.creditmemos.test_form import form_data, refunder_client, url  # noqa: F401 (fixture)
from tests.helpers import drain_actions, ups_tracking
from tests.money import Line, item_ids, order_with_lines

pytestmark = pytest.mark.django_db


def shipping_by_line(order, memo):
    return [line.shipping for line in credit_memo_preview(order_id=order.pk, memo=memo).lines]


def test_r_cm_6_shipping_refund_is_split_in_proportion_to_what_each_line_credits(walmart_account):
    order = order_with_lines(walmart_account, Line(qty=1, price="10.00", shipping="3.00", shipped=1),
                             Line(qty=1, price="30.00", shipping="3.00", shipped=1))
    a, b = item_ids(order)
    assert shipping_by_line(order, MemoInput(quantities={a: 1, b: 1}, shipping_refund=Decimal("4.00"))) == [
        Decimal("1.00"), Decimal("3.00")]


def test_r_cm_6_split_remainder_cent_is_deterministic_and_exact(walmart_account):
    order = order_with_lines(walmart_account, *[Line(qty=1, price="10.00", shipping="1.00", shipped=1)] * 3)
    memo = MemoInput(quantities=dict.fromkeys(item_ids(order), 1), shipping_refund=Decimal("1.00"))
    assert shipping_by_line(order, memo) == [Decimal("0.33"), Decimal("0.34"), Decimal("0.33")]


def test_r_cm_6_a_line_that_cannot_hold_its_share_passes_the_rest_to_the_others(walmart_account):
    """4.80 splits 1.20 / 3.60, but the channel holds only 1.00 of shipping more on the first line:
    it takes 1.00 and the second the other 3.80."""
    order = order_with_lines(walmart_account, Line(qty=1, price="10.00", shipping="1.00", shipped=1),
                             Line(qty=1, price="30.00", shipping="4.00", shipped=1))
    a, b = item_ids(order)
    assert shipping_by_line(order, MemoInput(quantities={a: 1, b: 1}, shipping_refund=Decimal("4.80"))) == [
        Decimal("1.00"), Decimal("3.80")]


def test_r_cm_6_the_split_reaches_walmart_line_by_line(sandbox, wm_account):
    [po] = sandbox.walmart.create_orders(count=1, products=[("CHEAP-1", "Cheap", "10.00"), ("DEAR-1", "Dear", "30.00")])
    account_import_orders(account_id=wm_account.pk)
    order = Order.objects.get(channel_order_id=po)
    order_ship(order_id=order.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(7)))
    drain_actions()
    a, b = item_ids(order)
    memo = credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={a: 1, b: 1},
                                                                 shipping_refund=Decimal("2.00")))
    drain_actions()
    shipping = [sum((-Decimal(str(c["charge"]["chargeAmount"]["amount"])) for c in line.refund_charges()
                     if c["charge"]["chargeType"] == "SHIPPING"), Decimal("0")) for line in sandbox.walmart.orders[po].lines]
    assert shipping == [Decimal("0.50"), Decimal("1.50")] and sum(shipping) == memo.shipping_refund


def test_r_cm_1_crediting_one_unit_of_a_partly_shipped_line_refunds_the_shipped_one(walmart_account):
    order = order_with_lines(walmart_account, Line(qty=2, price="10.00", shipping="2.00", shipped=1))
    [item] = item_ids(order)
    memo = credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={item: 1}))
    assert list(memo.items.values_list("action", "qty")) == [("refund", 1)]
    assert order.items.get().qty_canceled == 0


def test_r_cm_1_the_open_unit_is_canceled_when_the_operator_asks(walmart_account):
    order = order_with_lines(walmart_account, Line(qty=2, price="10.00", shipping="2.00", shipped=1))
    [item] = item_ids(order)
    memo = credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={item: 1}, credit_first={item: CANCEL}))
    assert list(memo.items.values_list("action", "qty")) == [("cancel", 1)]


def test_r_cm_4_a_partly_shipped_line_the_buyer_asked_to_cancel_cancels_its_open_unit_first(walmart_account):
    order = order_with_lines(walmart_account, Line(qty=2, price="10.00", shipped=1, buyer_cancel_requested=True))
    [item] = item_ids(order)
    memo = credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={item: 1}))
    assert list(memo.items.values_list("action", "qty")) == [("cancel", 1)]


def test_form_offers_which_units_a_partly_shipped_line_credits_first(refunder_client, walmart_account):  # noqa: F811
    order = order_with_lines(walmart_account, Line(qty=2, price="10.00", shipped=1))
    [item] = item_ids(order)
    data = {**form_data(order, **{f"qty_{item}": 1}), f"first_{item}": "cancel", "_preview": "1"}
    html = refunder_client.post(url(order), data).content.decode()
    assert '<tr class="memo-line"><td>Cancel</td>' in html and "<td>Refund</td>" not in html


def test_r_cm_6_shipping_of_units_the_channel_canceled_is_not_refunded_again(refunder_client, walmart_account):  # noqa: F811
    """2 units, 4.00 shipping, one shipped, one canceled on the channel: 2.00 of shipping is left, and
    the total after is 24.00 − 12.00 canceled − 2.00 refunded."""
    order = order_with_lines(walmart_account, Line(qty=2, price="10.00", shipping="4.00", shipped=1, canceled=1))
    with pytest.raises(CreditMemoRefused, match="At most 2.00 USD of shipping can be refunded"):
        credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={}, shipping_refund=Decimal("4.00")))
    credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={}, shipping_refund=Decimal("2.00")))
    queued = order_totals(order_detail(order_id=order.pk))  # the refund is not counted before Walmart confirms it
    assert (queued.after_cancellations_and_refunds, queued.refunded_unconfirmed) == (Decimal("12.00"), Decimal("2.00"))
    ChannelAction.objects.filter(order=order, kind=ChannelAction.Kind.REFUND).update(
        state=ChannelAction.State.SUCCEEDED)  # as Walmart's confirmation is recorded
    assert order_totals(order_detail(order_id=order.pk)).after_cancellations_and_refunds == Decimal("10.00")
    html = refunder_client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert re.search(r'id="total-net">.*?<strong>10.00 USD</strong>', html, re.S)


def test_r_cm_6_shipping_a_memo_cancel_credited_counts_once(walmart_account):
    order = order_with_lines(walmart_account, Line(qty=2, price="10.00", shipping="4.00", shipped=1))
    [item] = item_ids(order)
    canceled = credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={item: 1}, credit_first={item: CANCEL}))
    assert canceled.canceled_shipping == canceled.shipping_refund == Decimal("2.00")
    memo = credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={}, shipping_refund=Decimal("2.00")))
    assert memo.grand_total == Decimal("2.00")


def test_a_refused_memo_keeps_every_entry_and_its_preview_box(refunder_client, walmart_account):  # noqa: F811
    order = order_with_lines(walmart_account, Line(qty=1, price="10.00", shipping="2.00", shipped=1))
    [item] = item_ids(order)
    data = {**form_data(order, shipping_refund="500", refund_reason="DamagedItem", comment="box crushed"),
            "restock": "on", "_save": "1"}
    html = refunder_client.post(url(order), data).content.decode()
    assert "At most 2.00 USD of shipping can be refunded" in html and 'id="preview-refused"' in html
    assert re.search(r'<option value="DamagedItem" selected>', html)
    assert 'name="shipping_refund" value="500"' in html and "box crushed</textarea>" in html
    assert re.search(r'name="restock"[^>]*checked', html) and f'name="qty_{item}" value="1"' in html


def test_the_chosen_reason_survives_while_the_memo_refunds_nothing(refunder_client, walmart_account):  # noqa: F811
    order = order_with_lines(walmart_account, Line(qty=1, price="10.00", shipped=1), Line(qty=1, price="5.00"))
    shipped, open_ = item_ids(order)
    cancel_only = {**form_data(order, **{f"qty_{shipped}": 0}, refund_reason="DamagedItem"), "_preview": "1"}
    html = refunder_client.post(url(order), cancel_only).content.decode()
    assert '<input type="hidden" name="kept_refund_reason" value="DamagedItem">' in html
    again = {**form_data(order), "kept_refund_reason": "DamagedItem", "_preview": "1"}
    del again["refund_reason"]
    html = refunder_client.post(url(order), again).content.decode()
    assert '<option value="DamagedItem" selected>' in html


def test_memo_pages_show_money_with_its_currency_and_the_channel_order_number(admin_client, walmart_account):
    order = order_with_lines(walmart_account, Line(qty=1, price="10.00", shipping="2.00", shipped=1))
    memo = credit_memo_create(order_id=order.pk, memo=MemoInput(quantities=dict.fromkeys(item_ids(order), 1),
                                                                 shipping_refund=Decimal("2.00")))
    listing = admin_client.get(reverse("admin:creditmemos_creditmemo_changelist"), {"q": order.channel_order_id}).content.decode()
    assert f"Walmart order {order.channel_order_id}" in listing and "12.00 USD" in listing
    page = admin_client.get(reverse("admin:creditmemos_creditmemo_change", args=[memo.pk])).content.decode()
    assert "12.00 USD" in page and "10.00 USD" in page and f"Walmart order {order.channel_order_id}" in page
    assert str(memo.channel_actions.get()) not in page  # "Refund <internal order id> (Pending)"
    form = admin_client.get(url(order)).content.decode()
    assert "12.00 USD paid, 12.00 USD credited by earlier memos" in form


def test_amount_paid_on_a_canceled_order_says_the_cancellation_gives_it_back(refunder_client, walmart_account):  # noqa: F811
    """A canceled order still shows what was paid at the sale, never as money the merchant keeps."""
    order = order_with_lines(walmart_account, Line(qty=2, price="10.00", canceled=2))
    Order.objects.filter(pk=order.pk).update(is_paid=True)
    html = refunder_client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    paid = re.search(r"<th>Amount paid</th>.*?</tr>", html, re.DOTALL).group(0)
    assert "20.00 USD" in paid and "given back to the buyer" in paid

    untouched = order_with_lines(walmart_account, Line(qty=1, price="10.00"))
    Order.objects.filter(pk=untouched.pk).update(is_paid=True)
    html = refunder_client.get(reverse("admin:orders_order_change", args=[untouched.pk])).content.decode()
    assert "given back" not in re.search(r"<th>Amount paid</th>.*?</tr>", html, re.DOTALL).group(0)


def _one_of_two_shipped_units_credited(sandbox, account, *, tracking: int):
    """A shipped Walmart order of 2 units and a memo of 1, not sent yet."""
    [po] = sandbox.walmart.create_orders(count=1, qty=2)
    account_import_orders(account_id=account.pk)
    order = Order.objects.get(channel_order_id=po)
    order_ship(order_id=order.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(tracking)))
    drain_actions()
    return order, credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={order.items.get().pk: 1}))


def test_the_items_refunded_column_counts_only_what_the_channel_confirmed(refunder_client, sandbox, wm_account):  # noqa: F811
    """As the Totals do: a memo's unit is shown on its way until Walmart confirms the refund."""
    order, _memo = _one_of_two_shipped_units_credited(sandbox, wm_account, tracking=8)
    page = reverse("admin:orders_order_change", args=[order.pk])

    queued = refunder_client.get(page).content.decode()
    assert re.search(r'class="qty qty-refunded">0 <span class="sync-pending units-waiting">\+1 waiting for Walmart', queued)
    assert "nothing refunded" in queued
    drain_actions()
    done = refunder_client.get(page).content.decode()
    assert re.search(r'class="qty qty-refunded">1</td>', done)
    assert "1 unit and the shipping refunded with them" in done


def test_the_memo_form_does_not_call_a_refund_on_its_way_refunded(refunder_client, sandbox, wm_account):  # noqa: F811
    order, memo = _one_of_two_shipped_units_credited(sandbox, wm_account, tracking=12)
    html = " ".join(refunder_client.get(url(order)).content.decode().split())
    assert (f"{memo.grand_total} USD credited by earlier memos (refunded, or on its way to Walmart)" in html)
