"""Issue 8 §5: an Amazon order read while Pending has no prices or address (the Orders API withholds
them); once it is Unshipped the import reads its money and address, before the store order is made."""

from decimal import Decimal

import pytest

from orders.models import Order, OrderLog, OrderStatus
from orders.services.importing import account_import_orders

pytestmark = pytest.mark.django_db


def test_pending_then_unshipped_order_gets_its_totals_and_address(sandbox, az_account):
    [order_id] = sandbox.amazon.create_orders(count=1, items=2, qty=2, price="10.00", paid=False)
    account_import_orders(account_id=az_account.pk)
    order = Order.objects.get(channel_order_id=order_id)
    assert order.status == OrderStatus.PENDING and order.grand_total == Decimal("0.00")  # withheld, as on Amazon
    assert order.shipping_address.get("city") == "" and order.store_order_number is None

    sandbox.amazon.pay(order_id)
    account_import_orders(account_id=az_account.pk)

    order.refresh_from_db()
    assert order.status == OrderStatus.UNSHIPPED and order.store_order_number  # made from the paid totals
    assert [(i.unit_price, i.tax, i.shipping_charge) for i in order.items.order_by("pk")] == [
        (Decimal("10.00"), Decimal("1.60"), Decimal("1.26"))] * 2
    assert (order.subtotal, order.tax_total, order.shipping_total, order.grand_total) == (
        Decimal("40.00"), Decimal("3.20"), Decimal("2.52"), Decimal("45.72"))
    assert order.shipping_address["city"] == "Canton" and order.shipping_address["postalCode"] == "48817"
    assert OrderLog.objects.filter(order=order, message="Paid on Amazon: prices and address read (total 45.72 USD).").exists()
