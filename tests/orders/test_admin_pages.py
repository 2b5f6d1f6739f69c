"""Every admin page an operator can reach renders, for orders of every status on both channels."""

import pytest
from django.urls import reverse

from tests.factories import (
    STATUSES_BY_CHANNEL,
    BulkJobFactory,
    ChannelActionFactory,
    CreditMemoItemFactory,
    OrderLogFactory,
    OrderReturnLineFactory,
    ProductFactory,
    ShipmentItemFactory,
    create_order,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("channel", "status"), [(c, s) for c, statuses in STATUSES_BY_CHANNEL.items() for s in statuses])
def test_detail_page_renders_for_every_status(admin_client, walmart_account, amazon_account, channel, status):
    order = create_order(account=walmart_account if channel == "walmart" else amazon_account, status=status)
    response = admin_client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert response.status_code == 200
    assert order.channel_order_id in response.content.decode()


@pytest.mark.parametrize("name", [
    "orders_order", "orders_orderlog", "orders_product", "orders_shipment", "orders_channelaction", "orders_bulkjob",
    "creditmemos_creditmemo", "channels_channelaccount", "channels_marketplace",
])
def test_every_changelist_renders(admin_client, walmart_account, name):
    order = create_order(account=walmart_account, status="shipped")
    ChannelActionFactory(order=order)
    CreditMemoItemFactory(credit_memo__order=order, order_item=order.items.first())
    OrderReturnLineFactory(order_return__order=order, order_item=order.items.first())
    BulkJobFactory(order_ids=[order.pk])
    OrderLogFactory(order=order)
    ShipmentItemFactory(shipment__order=order, order_item=order.items.first())
    ProductFactory()
    response = admin_client.get(reverse(f"admin:{name}_changelist"))
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) >= 1  # the row made above is listed
