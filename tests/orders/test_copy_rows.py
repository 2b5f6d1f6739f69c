"""The import's quick rows (orders.copy): `new_row` builds the instance Django's constructor would,
and `copy_insert` stores what the instances hold — JSON encoded as its field encodes it, or as
the page reader encoded it already (JSONText), and the automatic timestamps of the insert."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import signals
from django.utils import timezone

from orders import copy
from orders.copy import JSONText, copy_insert, new_row, reserve_ids
from orders.models import Invoice, Order
from tests.factories import ChannelAccountFactory

SALE = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)


def fields_of(order: Order) -> dict:
    return {field.attname: getattr(order, field.attname) for field in Order._meta.concrete_fields}


def test_new_row_is_the_instance_the_constructor_builds():
    values = {"id": 7, "account_id": 3, "marketplace_id": 2, "channel": "walmart", "channel_order_id": "PO-1",
              "sale_date": SALE, "grand_total": Decimal("12.50"), "shipping_address": {"name": "Ann"}}
    quick, built = new_row(Order, **values), Order(**values)
    assert fields_of(quick) == fields_of(built)
    assert quick._state.adding and quick._state.db is None
    assert new_row(Order, id=1, sale_date=SALE).status == Order(id=1, sale_date=SALE).status == "created"


def test_new_row_defaults_are_made_for_each_row():
    first, second = new_row(Order, id=1, sale_date=SALE), new_row(Order, id=2, sale_date=SALE)
    first.raw_payload["changed"] = True
    assert second.raw_payload == {}  # a callable default (dict) is called per row, never shared


def test_new_row_refuses_an_unknown_field():
    with pytest.raises(TypeError, match="has no fields"):
        new_row(Invoice, order_id=1, number="1", amount=Decimal("1"), colour="red")


def test_new_row_refuses_a_model_with_init_signals(monkeypatch):
    monkeypatch.setattr(copy, "_layouts", {})

    def receiver(**kwargs):
        pass

    signals.post_init.connect(receiver, sender=Invoice)
    try:
        with pytest.raises(TypeError, match="need Django's constructor"):
            new_row(Invoice, order_id=1, number="1", amount=Decimal("1"))
    finally:
        signals.post_init.disconnect(receiver, sender=Invoice)


@pytest.mark.postgres
@pytest.mark.django_db
def test_copy_insert_stores_what_the_instances_hold(db):
    account = ChannelAccountFactory()
    before = timezone.now()
    [first, second] = reserve_ids(Order, 2)
    orders = [new_row(Order, id=first, account_id=account.pk, marketplace_id=account.marketplace_id,
                      channel=account.channel, channel_order_id="PO-1", sale_date=SALE,
                      raw_payload={"amount": Decimal("1.10")}, shipping_address={"name": "Ann"}),
              new_row(Order, id=second, account_id=account.pk, marketplace_id=account.marketplace_id,
                      channel=account.channel, channel_order_id="PO-2", sale_date=SALE,
                      raw_payload=JSONText('{"purchaseOrderId": "PO-2", "amount": "2.20"}'))]
    copy_insert(orders, with_pk=True)

    stored = {order.channel_order_id: order for order in Order.objects.all()}
    assert stored["PO-1"].raw_payload == {"amount": "1.10"} and stored["PO-1"].shipping_address == {"name": "Ann"}
    assert stored["PO-2"].raw_payload == {"purchaseOrderId": "PO-2", "amount": "2.20"}  # written as it is
    for order in orders:  # the insert's time, on the instance as on the row
        assert before <= order.created_at == order.updated_at <= timezone.now()
        assert stored[order.channel_order_id].created_at == order.created_at
        assert not order._state.adding


@pytest.mark.postgres
@pytest.mark.django_db
def test_order_payloads_are_compressed_with_lz4():
    """PostgreSQL compresses a large payload as it writes it; lz4 costs a fraction of its default pglz
    (the import writes one payload an order: BENCHMARKS.md, 2026-12-03)."""
    account = ChannelAccountFactory()
    [pk] = reserve_ids(Order, 1)
    payload = {"orderLines": [{"lineNumber": str(n), "productName": f"Desk lamp, brass, model {n}"} for n in range(200)]}
    copy_insert([new_row(Order, id=pk, account_id=account.pk, marketplace_id=account.marketplace_id,
                         channel=account.channel, channel_order_id="PO-1", sale_date=SALE, raw_payload=payload)],
                with_pk=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_column_compression(raw_payload) FROM orders_order WHERE id = %s", [pk])
        assert cursor.fetchone()[0] == "lz4"
    assert Order.objects.get(pk=pk).raw_payload == payload
