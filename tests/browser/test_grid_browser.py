"""A person in a real browser: log in, filter the grid by status and sale date, run Create Store Order
on a selection, see the summary message and the Store Order # column filled."""

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone

from orders.models import Order, OrderStatus
from tests.factories import create_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def test_operator_filters_grid_and_creates_store_orders(live_server, page, walmart_account, django_user_model):
    django_user_model.objects.create_superuser("browser-admin", "a@example.com", "browser-pass-123")
    now = timezone.now()
    recent_created = [
        create_order(account=walmart_account, status=OrderStatus.CREATED, sale_date=now - dt.timedelta(days=d))
        for d in (1, 2, 3)
    ]
    old_created = create_order(account=walmart_account, status=OrderStatus.CREATED, sale_date=now - dt.timedelta(days=40))
    shipped = create_order(account=walmart_account, status=OrderStatus.SHIPPED, sale_date=now - dt.timedelta(days=1))

    page.goto(f"{live_server.url}/admin/login/?next=/admin/orders/order/")
    page.fill("#id_username", "browser-admin")
    page.fill("#id_password", "browser-pass-123")
    page.click("input[type=submit]")
    page.wait_for_selector("#result_list")

    page.select_option("#id_status", "created")
    page.fill("input[name=sale_date_after]", (now - dt.timedelta(days=10)).date().isoformat())
    page.click("#apply-filters")
    page.wait_for_selector("#result_list")
    listed = page.locator("#result_list a.channel-order-link").all_inner_texts()
    assert sorted(listed) == sorted(order.channel_order_id for order in recent_created)

    page.check("#action-toggle")
    page.select_option("select[name=action]", "create_store_order_action")
    page.click("button[name=index]")
    page.wait_for_selector("#action-confirmation")
    page.click("#action-confirmation input[type=submit]")
    page.wait_for_selector(".messagelist")

    message = page.locator(".messagelist li").first.inner_text()
    assert message == "Create Store Order: 3 done, 0 skipped."
    store_numbers = page.locator("#result_list td.field-store_order_column").all_inner_texts()
    assert len(store_numbers) == 3 and all(number.strip().isdigit() for number in store_numbers)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "grid-after-create-store-order.png"), full_page=True)

    assert Order.objects.filter(store_order_number__isnull=False).count() == 3
    assert Order.objects.get(pk=old_created.pk).store_order_number is None
    assert Order.objects.get(pk=shipped.pk).store_order_number is None
