"""The credit memo form from the order page: defaults, totals before saving, refusals in plain words."""

from decimal import Decimal

import pytest
from django.db.models import F
from django.urls import reverse

from creditmemos.models import CreditMemo
from orders.models import Order, OrderStatus
from tests.factories import create_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def refunder_client(client, django_user_model):
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("refunder", password="pw-for-tests-only", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=["view_order", "operate_order", "refund_order"]))
    client.force_login(user)
    return client


def url(order):
    return reverse("admin:creditmemos_creditmemo_create_for_order", args=[order.pk])


def form_data(order, **overrides):
    data = {f"qty_{item.pk}": item.qty_ordered for item in order.items.all()}
    data.update({"shipping_refund": "0", "adjustment_refund": "0", "adjustment_fee": "0",
                 "refund_reason": "CustomerChangedMind", "comment": ""})
    data.update(overrides)
    return data


def test_form_defaults_to_everything_and_shows_totals(refunder_client, walmart_account):
    order = create_order(account=walmart_account, status=OrderStatus.SHIPPED, n_items=2)
    html = refunder_client.get(url(order)).content.decode()
    assert 'id="memo-totals"' in html
    assert f"{order.grand_total} USD" in html  # the full memo's total, shown before saving
    assert 'id="credit-memo"' in refunder_client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()


def test_an_order_whose_status_takes_no_memo_says_why_instead_of_a_button(refunder_client, amazon_account):
    order = create_order(account=amazon_account, status=OrderStatus.PARTIALLY_SHIPPED, n_items=1)
    html = refunder_client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert 'id="credit-memo"' not in html
    assert "Credit Memo is not available: Partially Shipped Amazon orders cannot take a credit memo." in html


def test_a_memo_refused_as_it_opens_does_not_say_it_was_not_saved(refunder_client, walmart_account):
    order = create_order(account=walmart_account, status=OrderStatus.SHIPPED, n_items=1)
    order.items.update(qty_refunded=F("qty_ordered"))
    html = refunder_client.get(url(order)).content.decode()
    assert "This memo cannot be saved as it stands" in html and "Not saved, nothing sent" not in html


def test_preview_then_save(refunder_client, walmart_account):
    order = create_order(account=walmart_account, status=OrderStatus.SHIPPED, n_items=2)
    first, second = order.items.order_by("pk")
    data = form_data(order, **{f"qty_{second.pk}": 0})
    preview = refunder_client.post(url(order), {**data, "_preview": "1"}).content.decode()
    assert f"<td>Refund</td><td>{first.sku}</td><td>{first.qty_ordered}</td>" in preview
    assert not CreditMemo.objects.exists()

    response = refunder_client.post(url(order), {**data, "_save": "1"}, follow=True)
    memo = CreditMemo.objects.get()
    assert [str(m) for m in response.context["messages"]] == [
        f"Credit memo #{memo.pk} saved: {memo.grand_total} USD; queued for the channel."]
    assert memo.items.get().order_item == first


def test_refusal_is_shown_on_the_form_with_the_allowed_maximum(refunder_client, walmart_account):
    order = create_order(account=walmart_account, status=OrderStatus.SHIPPED, n_items=1)
    item = order.items.get()
    html = refunder_client.post(url(order), {**form_data(order, shipping_refund="500"), "_save": "1"}).content.decode()
    assert f"At most {order.shipping_total} USD of shipping can be refunded" in html and "R-CM" not in html
    assert not CreditMemo.objects.exists()
    assert item.qty_ordered == order.items.get().qty_ordered


def test_r_can_4_created_order_is_sent_back_with_the_reason(refunder_client, walmart_account):
    order = create_order(account=walmart_account, status=OrderStatus.CREATED)
    response = refunder_client.get(url(order), follow=True)
    [message] = [str(m) for m in response.context["messages"]]
    assert message.startswith("Created orders cannot be refunded by a credit memo: cancel it on Walmart")


def test_r_cm_7_form_says_full_refund_only(refunder_client, walmart_account):
    order = create_order(account=walmart_account, status=OrderStatus.SHIPPED, n_items=2)
    Order.objects.filter(pk=order.pk).update(adjustment_fee=Decimal("3.00"))
    html = refunder_client.get(url(order)).content.decode()
    assert "cannot be refunded partially, so the memo credits everything." in html and "R-CM" not in html
    refunder_client.post(url(order), {**form_data(order, **{f"qty_{order.items.first().pk}": 0}), "_save": "1"})
    memo = CreditMemo.objects.get()  # quantities are fixed: the full memo is saved
    assert memo.items.count() == 2


def test_operator_without_refund_permission_cannot_open_the_form(operator_client, walmart_account):
    order = create_order(account=walmart_account, status=OrderStatus.SHIPPED)
    assert operator_client.get(url(order)).status_code == 403


# -- issue 10 §5 ----------------------------------------------------------------------------------

def two_shipped_lines(account, status=OrderStatus.SHIPPED):
    """Two lines of 2 units at 10.00 + 1.60 tax + 6.00 shipping each (3.00 per unit)."""
    order = create_order(account=account, status=status, n_items=2)
    shipped = 2 if status == OrderStatus.SHIPPED else 0
    order.items.update(qty_ordered=2, qty_shipped=shipped, unit_price=Decimal("10.00"), tax=Decimal("1.60"),
                       shipping_charge=Decimal("6.00"))
    Order.objects.filter(pk=order.pk).update(subtotal=Decimal("40.00"), tax_total=Decimal("3.20"),
                                             shipping_total=Decimal("12.00"), grand_total=Decimal("55.20"))
    return Order.objects.get(pk=order.pk)


def test_update_totals_re_derives_shipping_from_the_credited_units(refunder_client, walmart_account):
    order = two_shipped_lines(walmart_account)
    first, second = order.items.order_by("pk")
    page = refunder_client.get(url(order))
    assert page.context["form"]["shipping_refund"].value() == Decimal("12.00")
    posted = {f"qty_{first.pk}": 1, f"qty_{second.pk}": 0, "shipping_refund": "12.00", "derived_shipping": "12.00",
              "adjustment_refund": "0", "adjustment_fee": "0", "refund_reason": "DamagedItem", "_preview": "1"}
    preview = refunder_client.post(url(order), posted)
    assert preview.context["form"]["shipping_refund"].value() == "3.00"  # 1 unit's shipping, not all 12.00
    lines = preview.context["preview"]
    assert lines.grand_total == Decimal("13.80") == sum(line.total for line in lines.lines)  # 10 + 0.80 + 3
    assert lines.items + lines.shipping + lines.adjustment_refund - lines.adjustment_fee == lines.grand_total

    overridden = refunder_client.post(url(order), {**posted, "shipping_refund": "1.50", "derived_shipping": "3.00"})
    assert overridden.context["form"]["shipping_refund"].value() == "1.50"  # the operator's amount stays
    assert overridden.context["preview"].grand_total == Decimal("12.30")

    # Saved without Update totals: the page showed 12.00, the unit gives 3.00. Nothing is saved that the
    # page did not show; it shows the 3.00 and saves it when asked again.
    shown = refunder_client.post(url(order), {**posted, "_preview": "", "_save": "1"})
    assert not CreditMemo.objects.exists()
    assert "it is now 3.00 USD, not the 12.00 USD shown before" in shown.content.decode()
    assert shown.context["form"]["shipping_refund"].value() == "3.00"
    refunder_client.post(url(order), {**posted, "shipping_refund": "3.00", "derived_shipping": "3.00",
                                      "_preview": "", "_save": "1"})
    assert CreditMemo.objects.get().shipping_refund == Decimal("3.00")


def test_a_shipping_refund_typed_equal_to_the_derived_one_is_the_operators(refunder_client, walmart_account):
    """The form derived 12.00 for both units; the operator credits no unit and types 12.00 shipping
    (the page's script marks the field typed): a shipping-only memo of 12.00, not 0.00."""
    order = two_shipped_lines(walmart_account)
    first, second = order.items.order_by("pk")
    posted = {f"qty_{first.pk}": 0, f"qty_{second.pk}": 0, "shipping_refund": "12.00", "derived_shipping": "12.00",
              "shipping_typed": "True", "adjustment_refund": "0", "adjustment_fee": "0",
              "refund_reason": "DamagedItem", "_save": "1"}
    refunder_client.post(url(order), posted)
    assert CreditMemo.objects.get().shipping_refund == Decimal("12.00")


def test_line_refusal_says_the_allowed_maximum(refunder_client, walmart_account):
    order = two_shipped_lines(walmart_account)
    first, second = order.items.order_by("pk")
    html = refunder_client.post(url(order), {f"qty_{first.pk}": 1, f"qty_{second.pk}": 0, "shipping_refund": "3.00",
                                             "derived_shipping": "3.00", "adjustment_refund": "20.00",
                                             "adjustment_fee": "0", "refund_reason": "DamagedItem",
                                             "_preview": "1"}).content.decode()
    # What the channel holds for the line: 2 × 10.00 + 1.60 tax + 6.00 shipping.
    assert f"{first.sku}: at most 27.60 can be refunded on this line" in html


def test_reasons_are_words_with_the_channel_code_and_asked_only_for_refunds(refunder_client, walmart_account):
    shipped = two_shipped_lines(walmart_account)
    html = refunder_client.get(url(shipped)).content.decode()
    assert ">Customer changed mind (CustomerChangedMind)</option>" in html
    assert ">Item not received by customer (ItemNotReceivedByCustomer)</option>" in html

    unshipped = create_order(account=walmart_account, status=OrderStatus.UNSHIPPED, n_items=1)
    page = refunder_client.get(url(unshipped))
    assert "refund_reason" not in page.context["form"].fields  # only canceling: no reason asked
    assert "Out of stock (SELLER_CANCEL_OUT_OF_STOCK)" in page.content.decode()


def test_no_rule_ids_in_what_an_operator_reads(refunder_client, walmart_account, amazon_account):
    pages = [refunder_client.get(url(two_shipped_lines(walmart_account))).content.decode()]
    amazon = create_order(account=amazon_account, status=OrderStatus.UNSHIPPED, n_items=2)
    pages.append(refunder_client.get(url(amazon)).content.decode())
    first = amazon.items.order_by("pk").first()
    pages.append(refunder_client.post(url(amazon), {**form_data(amazon, **{f"qty_{first.pk}": 0}),
                                                    "_preview": "1"}).content.decode())
    Order.objects.filter(pk=amazon.pk).update(adjustment_fee=Decimal("1.00"))
    pages.append(refunder_client.get(url(amazon)).content.decode())
    for html in pages:
        assert "R-CM" not in html and "R-ACC" not in html and "R-CAN" not in html


def test_amazon_partial_refund_refusal_links_to_shipping_the_rest(refunder_client, amazon_account):
    order = create_order(account=amazon_account, status=OrderStatus.UNSHIPPED, n_items=2)
    first, second = order.items.order_by("pk")
    response = refunder_client.post(url(order), {**form_data(order, **{f"qty_{first.pk}": 0}), "_preview": "1"})
    html = response.content.decode()
    assert "ship the units you deliver first" in html
    ship = reverse("admin:orders_order_ship", args=[order.pk])
    assert f'href="{ship}?qty_{first.pk}={first.qty_ordered}"' in html  # the units not credited
    form = refunder_client.get(f"{ship}?qty_{first.pk}={first.qty_ordered}").context["form"]
    assert form[f"qty_{first.pk}"].value() == first.qty_ordered and form[f"qty_{second.pk}"].value() == 0


def partially_shipped_walmart(account):
    """Line 1: 2 units shipped; line 2: 3 units open."""
    order = create_order(account=account, status=OrderStatus.PARTIALLY_SHIPPED, n_items=2)
    first, second = order.items.order_by("pk")
    order.items.filter(pk=first.pk).update(qty_ordered=2, qty_shipped=2)
    order.items.filter(pk=second.pk).update(qty_ordered=3, qty_shipped=0)
    return Order.objects.get(pk=order.pk), first, second


def memo_post(first, second, first_qty, second_qty, **extra):
    return {f"qty_{first.pk}": first_qty, f"qty_{second.pk}": second_qty, "shipping_refund": "0",
            "derived_shipping": "0", "adjustment_refund": "0", "adjustment_fee": "0", **extra}


def test_refund_reason_is_asked_only_for_the_quantities_entered(refunder_client, walmart_account):
    """Issue 10 §5: a Partially Shipped order credited only in its unshipped units (a cancel) is
    not asked a refund reason; raising the shipped line's quantity asks it on "Update totals"."""
    order, first, second = partially_shipped_walmart(walmart_account)
    assert 'id="row-refund_reason"' in refunder_client.get(url(order)).content.decode()  # defaults refund line 1

    cancel_only = refunder_client.post(url(order), memo_post(first, second, 0, 3, refund_reason="DamagedItem",
                                                             _preview="1")).content.decode()
    assert 'id="row-refund_reason"' not in cancel_only and 'id="memo-preview"' in cancel_only

    refunding = refunder_client.post(url(order), memo_post(first, second, 1, 0, _preview="1")).content.decode()
    assert 'id="row-refund_reason"' in refunding  # asked again, the usual reason chosen
    assert 'value="CustomerChangedMind" selected' in refunding


def test_saving_a_refund_whose_reason_was_not_asked_asks_it_first(refunder_client, walmart_account):
    order, first, second = partially_shipped_walmart(walmart_account)
    # The page showed a cancel (no reason); the operator raised line 1 and saved straight away.
    response = refunder_client.post(url(order), memo_post(first, second, 1, 3, _save="1"))
    assert response.status_code == 200 and not CreditMemo.objects.exists()
    assert "choose the refund reason" in response.content.decode()

    with_reason = memo_post(first, second, 1, 3, refund_reason="DamagedItem", _save="1")
    response = refunder_client.post(url(order), with_reason)
    # The shipping the refunded unit brings is shown before anything is saved with it.
    assert not CreditMemo.objects.exists() and 'id="shipping-rederived"' in response.content.decode()
    shown = response.context["form"]
    refunder_client.post(url(order), {**with_reason, "shipping_refund": shown["shipping_refund"].value(),
                                      "derived_shipping": shown["derived_shipping"].value()})
    assert CreditMemo.objects.get().reason == "DamagedItem"


def test_a_refund_of_shipping_alone_asks_its_reason_and_sends_the_one_chosen(refunder_client, walmart_account):
    order = two_shipped_lines(walmart_account)
    first, second = order.items.order_by("pk")
    shipping_only = {f"qty_{first.pk}": 0, f"qty_{second.pk}": 0, "shipping_refund": "1.50", "derived_shipping": "0.00",
                     "adjustment_refund": "0", "adjustment_fee": "0", "_preview": "1"}

    preview = refunder_client.post(url(order), shipping_only)

    assert preview.context["form"].asks_reason and 'name="refund_reason"' in preview.content.decode()
    refunder_client.post(url(order), {**shipping_only, "refund_reason": "IncorrectShippingPrice", "_preview": "",
                                      "_save": "1"})
    assert CreditMemo.objects.get().reason == "IncorrectShippingPrice"
    nothing = refunder_client.post(url(order), {**shipping_only, "shipping_refund": "0"})
    assert not nothing.context["form"].asks_reason
