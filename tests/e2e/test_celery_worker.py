"""End to end with a real Celery worker on Redis and PostgreSQL: beat-style import task, automatic
acknowledge, an operator's shipment pushed as soon as its transaction commits (R-SYNC-4)."""

import pytest
from django.db import transaction

from orders.models import Order
from orders.services.shipments import Tracking, order_ship
from orders.tasks import import_account_orders
from tests.helpers import ups_tracking, wait_for

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True),
]



def test_end_to_end_import_acknowledge_and_ship_through_a_real_worker(sandbox, wm_account, worker):
    [po] = sandbox.walmart.create_orders(count=1, qty=2)

    import_account_orders.delay(wm_account.pk)
    wait_for(lambda: sandbox.walmart.orders[po].acknowledged, what="the automatic acknowledge")

    order = Order.objects.get(channel_order_id=po)
    assert order.store_order_number
    with transaction.atomic():
        order_ship(order_id=order.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(3)))
    latency = wait_for(lambda: sandbox.walmart.orders[po].lines[0].shipped == 2, what="the shipment on Walmart")
    print(f"commit → sandbox received the shipment: {latency * 1000:.0f} ms")
    wait_for(lambda: Order.objects.get(pk=order.pk).sync_state == "ok", what="the outcome in the Order Log")
    messages = list(order.logs.values_list("message", flat=True))
    assert any(m.startswith(f"Ship (UPS {ups_tracking(3)}): done on Walmart") for m in messages), messages
    assert len(sandbox.requests.all(method="POST", path="/shipping$")) == 1
