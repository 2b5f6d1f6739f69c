"""Every factory builds a valid row (the database constraints accept it)."""

import pytest

from tests import factories

pytestmark = pytest.mark.django_db
MODEL_FACTORIES = [
    factories.MarketplaceFactory, factories.ChannelAccountFactory, factories.AmazonAccountFactory,
    factories.ProductFactory, factories.OrderFactory, factories.OrderItemFactory, factories.ShipmentFactory,
    factories.ShipmentItemFactory, factories.InvoiceFactory, factories.OrderLogFactory, factories.CreditMemoFactory,
    factories.CreditMemoItemFactory, factories.ChannelActionFactory, factories.OrderReturnFactory,
    factories.OrderReturnLineFactory, factories.BulkJobFactory,
]


@pytest.mark.parametrize("factory", MODEL_FACTORIES, ids=lambda f: f.__name__)
def test_factory_creates_a_valid_row(factory):
    instance = factory()
    instance.full_clean(exclude=["encrypted_credentials", "order_ids", "password"])
    assert type(instance).objects.filter(pk=instance.pk).exists()
