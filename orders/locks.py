"""Row locks for order writes. Two workers or two operators touching one order queue here
(PostgreSQL row lock; SQLite serialises writers with IMMEDIATE transactions)."""

from django.db import transaction

from .models import Order


def lock_order(order_id: int) -> Order:
    """The order, locked until the surrounding transaction ends."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("lock_order() must run inside transaction.atomic()")
    return Order.objects.select_for_update(of=("self",)).select_related("account").get(pk=order_id)
