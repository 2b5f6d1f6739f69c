"""Store orders (R-ORD-1, R-ORD-2, R-ACC-1): the back-office's own order for a channel order."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from channels.models import Channel

from ..locks import lock_order
from ..log import LogEntry, Type, order_log_write_many
from ..models import Order, OrderItem, OrderStatus, Product
from ..numbers import STORE_ORDER, allocate_number
from .errors import OrderActionRefused

REFUSED_EXISTS = "store order already exists"
REFUSED_CANCELED = "order is canceled"
REFUSED_PENDING = "Amazon order is Pending (not paid)"


def store_order_refusal(order: Order) -> OrderActionRefused | None:
    """Why a store order cannot be created for this order, or None if it can."""
    if order.store_order_number:
        return OrderActionRefused(REFUSED_EXISTS, f"#{order.store_order_number}")
    if order.status == OrderStatus.CANCELED:
        return OrderActionRefused(REFUSED_CANCELED)
    if order.channel == Channel.AMAZON and (order.status == OrderStatus.PENDING or not order.is_paid):
        return OrderActionRefused(REFUSED_PENDING)
    return None


def order_create_store_order(*, order_id: int, user: AbstractBaseUser | None = None) -> Order:
    """Create the store order: allocate its number, link SKUs to products and reserve their stock.

    Refused (OrderActionRefused) when it exists already, for canceled orders and for Amazon
    Pending orders. The order row is locked first, so a second concurrent call waits and is
    then refused; the unique store order number backs that up in the database.
    """
    with transaction.atomic():
        order = lock_order(order_id)
        refusal = store_order_refusal(order)
        if refusal:
            raise refusal

        order.store_order_number = allocate_number(sequence=STORE_ORDER)
        order.store_order_created_at = timezone.now()
        order.save(update_fields=["store_order_number", "store_order_created_at", "updated_at"])

        user_id = user.pk if user else None
        entries = [
            LogEntry(
                order_id=order.pk,
                message=f"Store order #{order.store_order_number} created.",
                type=Type.SUCCESS,
                user_id=user_id,
            )
        ]
        entries += _reserve_stock(order=order, user_id=user_id)
        order_log_write_many(entries=entries)
    return order


def _reserve_stock(*, order: Order, user_id: int | None) -> list[LogEntry]:
    """R-ORD-2: hold the open units of linked products; unlinked SKUs are a warning, not an error."""
    items = list(order.items.select_for_update().order_by("pk"))
    unlinked = [item for item in items if item.product_id is None]
    products_by_sku = Product.objects.in_bulk([item.sku for item in unlinked], field_name="sku")
    for item in unlinked:
        item.product = products_by_sku.get(item.sku)

    entries = []
    reserved_items = []
    # Products are updated in pk order so that concurrent reservations cannot deadlock.
    for item in sorted(items, key=lambda line: (line.product_id or 0, line.pk)):
        if item.product_id is None:
            entries.append(
                LogEntry(
                    order_id=order.pk,
                    message=f"SKU {item.sku} is not linked to a product: no stock reserved for it.",
                    type=Type.WARNING,
                    user_id=user_id,
                )
            )
            continue
        qty = item.qty_open - item.qty_reserved
        if qty <= 0:
            continue
        Product.objects.filter(pk=item.product_id).update(reserved_qty=F("reserved_qty") + qty)
        item.qty_reserved += qty
        reserved_items.append(item)
        entries.append(
            LogEntry(order_id=order.pk, message=f"Reserved {qty} × {item.sku}.", user_id=user_id)
        )

    OrderItem.objects.bulk_update(items, ["product", "qty_reserved"])
    oversold = Product.objects.filter(
        pk__in=[item.product_id for item in reserved_items], reserved_qty__gt=F("stock_qty")
    ).values_list("sku", flat=True)
    entries += [
        LogEntry(
            order_id=order.pk,
            message=f"SKU {sku} is oversold: more units reserved than in stock.",
            type=Type.WARNING,
            user_id=user_id,
        )
        for sku in oversold
    ]
    return entries
