"""Nothing that happened can be deleted from the admin, not even by a superuser (issue 10 §3)."""

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from creditmemos.models import CreditMemo, CreditMemoItem
from orders.models import BulkJob, ChannelAction, Order, OrderLog, Shipment
from tests.factories import ShipmentItemFactory

RECORDS = [Order, Shipment, CreditMemo, OrderLog, ChannelAction, BulkJob]


@pytest.fixture
def superuser(db, django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw-for-tests-only")


@pytest.mark.parametrize("model", RECORDS, ids=lambda model: model.__name__)
def test_no_one_may_delete_records(superuser, model):
    request = RequestFactory().get("/")
    request.user = superuser
    model_admin = admin.site._registry[model]
    assert not model_admin.has_delete_permission(request)
    assert "delete_selected" not in model_admin.get_actions(request)


def test_credit_memo_lines_cannot_be_deleted_inline(superuser):
    request = RequestFactory().get("/")
    request.user = superuser
    for inline in admin.site._registry[CreditMemo].get_inline_instances(request):
        if inline.model is CreditMemoItem:
            assert not inline.can_delete and not inline.has_delete_permission(request)


def test_shipment_delete_page_is_forbidden_and_the_shipment_stays(client, superuser):
    shipment = ShipmentItemFactory().shipment
    client.force_login(superuser)
    assert client.get(reverse("admin:orders_shipment_delete", args=[shipment.pk])).status_code == 403
    assert client.post(reverse("admin:orders_shipment_delete", args=[shipment.pk]), {"post": "yes"}).status_code == 403
    assert Shipment.objects.filter(pk=shipment.pk).exists()
