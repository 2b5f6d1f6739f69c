"""The account's order options applied to one order (R-ACC-1, R-ACC-2, R-ACC-4)."""

from channels.capabilities import rules_for

from ..models import Order, OrderStatus
from .acknowledge import order_acknowledge
from .invoices import order_create_invoice
from .store_orders import order_create_store_order, store_order_refusal

INVOICED_STATUSES = (OrderStatus.UNSHIPPED, OrderStatus.PARTIALLY_SHIPPED)


def order_apply_account_options(*, order_id: int) -> None:
    order = Order.objects.select_related("account").get(pk=order_id)
    account = order.account
    if account.create_store_order and store_order_refusal(order) is None:
        order = order_create_store_order(order_id=order.pk)
        # R-ACC-2: with automatic store orders, Walmart orders are acknowledged too.
        if rules_for(order.channel).acknowledges_orders and not order.acknowledged_at:
            order = order_acknowledge(order_id=order.pk)
    if account.auto_invoice and order.status in INVOICED_STATUSES:
        order_create_invoice(order=order)
