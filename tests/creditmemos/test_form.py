"""The credit memo form from the order page: defaults, totals before saving, refusals naming the rule."""

from decimal import Decimal

import pytest
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


def test_preview_then_save(refunder_client, walmart_account):
    order = create_order(account=walmart_account, status=OrderStatus.SHIPPED, n_items=2)
    first, second = order.items.order_by("pk")
    data = form_data(order, **{f"qty_{second.pk}": 0})
    preview = refunder_client.post(url(order), {**data, "_preview": "1"}).content.decode()
    assert f"Refund {first.sku} × {first.qty_ordered}" in preview
    assert not CreditMemo.objects.exists()

    response = refunder_client.post(url(order), {**data, "_save": "1"}, follow=True)
    memo = CreditMemo.objects.get()
    assert [str(m) for m in response.context["messages"]] == [f"Credit memo #{memo.pk} saved: {memo.grand_total} USD."]
    assert memo.items.get().order_item == first


def test_refusal_is_shown_on_the_form_naming_the_rule(refunder_client, walmart_account):
    order = create_order(account=walmart_account, status=OrderStatus.SHIPPED, n_items=1)
    item = order.items.get()
    html = refunder_client.post(url(order), {**form_data(order, shipping_refund="500"), "_save": "1"}).content.decode()
    assert "Shipping refund exceeds" in html and "(R-CM-6)" in html
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
    assert "cannot be refunded partially, so the memo credits everything (R-CM-7)" in html
    refunder_client.post(url(order), {**form_data(order, **{f"qty_{order.items.first().pk}": 0}), "_save": "1"})
    memo = CreditMemo.objects.get()  # quantities are fixed: the full memo is saved
    assert memo.items.count() == 2


def test_operator_without_refund_permission_cannot_open_the_form(operator_client, walmart_account):
    order = create_order(account=walmart_account, status=OrderStatus.SHIPPED)
    assert operator_client.get(url(order)).status_code == 403
