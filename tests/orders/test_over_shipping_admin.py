"""Issue 9 §2: over-shipping from the admin ends in a refusal the operator reads, never an error page.

The ship page checks the open quantities when it is submitted; a shipment recorded between that
check and the order's lock (another operator, a tracking upload) leaves only the service's guard
between the page and the database's constraint. Here the other shipment holds the order's row lock
while the page waits for it, so the guard is what answers (a test of the page's own check is
tests/orders/test_shipping_paths.py::test_ship_page_refuses_more_than_open_and_nothing)."""

import threading

import pytest
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse

from orders.locks import lock_order
from orders.models import OrderItem, Shipment
from orders.services.shipments import Tracking, order_ship
from tests.helpers import ups_tracking, wait_for
from tests.orders.test_shipping_paths import walmart_order

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def waiting_for_a_row_lock() -> bool:
    with connection.cursor() as cursor:  # pg_locks is live, not a per-transaction snapshot
        cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
        return cursor.fetchone()[0] > 0


def test_ship_page_submitted_while_another_shipment_takes_the_units_shows_a_refusal(sandbox, wm_account, operator):
    order = walmart_order(sandbox, wm_account, qty=2)
    [item] = order.items.all()
    url = reverse("admin:orders_order_ship", args=[order.pk])
    page_client = Client()
    page_client.force_login(operator)
    answers = []

    def submit_the_page() -> None:
        try:
            answers.append(page_client.post(url, {f"qty_{item.pk}": "2", "carrier": "UPS", "method": "Standard",
                                                  "tracking_number": ups_tracking(1)}))
        except Exception as failure:  # an error page: asserted below
            answers.append(failure)
        finally:
            connection.close()

    with transaction.atomic():
        lock_order(order.pk)  # the other shipment holds the order while the page is submitted
        page = threading.Thread(target=submit_the_page)
        page.start()
        wait_for(waiting_for_a_row_lock, what="the ship page to wait for the order's lock")
        order_ship(order_id=order.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(2)))
    page.join(timeout=30)

    [answer] = answers
    assert not isinstance(answer, Exception), answer
    assert answer.status_code == 200
    assert "Not shipped: cannot ship more than the open quantity" in answer.content.decode()
    assert Shipment.objects.filter(order=order).count() == 1
    assert OrderItem.objects.get(pk=item.pk).qty_shipped == 2
