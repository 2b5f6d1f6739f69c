"""The account's order options applied to one order (R-ACC-1, R-ACC-2, R-ACC-4)."""

from django.db.models import Q

from channels.capabilities import rules_for
from channels.models import Channel, ChannelAccount

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


def orders_needing_account_options(*, account: ChannelAccount, order_ids: list[int]) -> list[int]:
    """Of these orders, the ones `order_apply_account_options` would change (one query, so an
    import does not visit every order)."""
    needs = Q(pk__in=[])
    if account.create_store_order:
        qualifies = Q(store_order_number__isnull=True) & ~Q(status__in=[OrderStatus.CANCELED, OrderStatus.PENDING])
        if account.channel == Channel.AMAZON:
            qualifies &= Q(is_paid=True)
        needs |= qualifies
    if account.auto_invoice:
        needs |= Q(status__in=INVOICED_STATUSES, invoice__isnull=True, store_order_number__isnull=False)
    return list(Order.objects.filter(pk__in=order_ids).filter(needs).order_by("pk").values_list("pk", flat=True))
