from django.db import transaction

from ..log import LogEntry, Type, order_log_write_many
from ..models import Invoice, Order
from ..numbers import INVOICE, allocate_number


def order_create_invoice(*, order: Order) -> Invoice | None:
    """Invoice the store order (R-ACC-4); None when it has one already or no store order."""
    if not order.store_order_number or Invoice.objects.filter(order=order).exists():
        return None
    with transaction.atomic():
        invoice = Invoice.objects.create(order=order, number=allocate_number(sequence=INVOICE), amount=order.grand_total)
        order_log_write_many(entries=[LogEntry(order.pk, f"Invoice #{invoice.number} created.", Type.SUCCESS)])
    return invoice
