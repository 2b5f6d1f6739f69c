"""R-GRID-4 (detail page), R-GRID-5 (Order Log list), and the Create Order button (R-ORD-1)."""

import pytest
from django.urls import reverse

from orders.models import ChannelAction, Order, OrderItem, OrderLog, OrderStatus, Shipment
from orders.log import order_log_write
from tests.factories import CreditMemoItemFactory, InvoiceFactory, ShipmentItemFactory, create_order

pytestmark = pytest.mark.django_db


def detail_url(order):
    return reverse("admin:orders_order_change", args=[order.pk])


def test_r_grid_4_detail_page_shows_every_section(operator_client, walmart_account):
    order = create_order(account=walmart_account, status=OrderStatus.SHIPPED, n_items=2)
    item = order.items.order_by("pk").first()
    Order.objects.filter(pk=order.pk).update(store_order_number="100000042", store_order_created_at=order.sale_date)
    InvoiceFactory(order=order, number="INV-777")
    shipment_line = ShipmentItemFactory(shipment__order=order, shipment__tracking_number="1ZTRACK", order_item=item)
    CreditMemoItemFactory(credit_memo__order=order, order_item=item)

    html = operator_client.get(detail_url(order)).content.decode()

    for section in ('id="store-order"', 'id="buyer"', 'id="payment"', 'id="shipping"', 'id="items"',
                    'id="shipments"', 'id="credit-memos"', 'id="totals"', 'id="order-log"'):
        assert section in html
    assert "100000042" in html and order.customer_order_id in html and order.buyer_email in html
    assert "INV-777" in html and "1ZTRACK" in html and shipment_line.order_item.sku in html
    assert str(order.grand_total) in html
    assert 'id="create-store-order"' not in html  # a store order exists


def test_r_grid_4_create_order_button_creates_store_order(operator_client, walmart_account):
    order = create_order(account=walmart_account)
    html = operator_client.get(detail_url(order)).content.decode()
    assert 'id="create-store-order"' in html

    response = operator_client.post(reverse("admin:orders_order_action", args=[order.pk, "create_store_order"]), follow=True)

    order.refresh_from_db()
    assert order.store_order_number
    assert [str(m) for m in response.context["messages"]] == ["Create Store Order: done."]


def test_r_grid_4_create_order_button_explains_a_refusal(operator_client, walmart_account):
    order = create_order(account=walmart_account, status=OrderStatus.CANCELED)
    html = operator_client.get(detail_url(order)).content.decode()
    assert 'id="create-store-order"' not in html
    assert "Create Order is not available: order is canceled." in html
    response = operator_client.post(reverse("admin:orders_order_action", args=[order.pk, "create_store_order"]), follow=True)
    assert [str(m) for m in response.context["messages"]] == ["Create Store Order: not done — order is canceled."]


def test_r_grid_4_viewer_sees_no_create_button_and_cannot_post(client, viewer, walmart_account):
    order = create_order(account=walmart_account)
    client.force_login(viewer)
    assert 'id="create-store-order"' not in client.get(detail_url(order)).content.decode()
    response = client.post(reverse("admin:orders_order_action", args=[order.pk, "create_store_order"]))
    assert response.status_code == 403
    assert Order.objects.get(pk=order.pk).store_order_number is None


def test_r_grid_4_order_log_newest_first_with_initiator(operator_client, walmart_account, operator):
    order = create_order(account=walmart_account)
    order_log_write(order=order, message="first line")
    order_log_write(order=order, message="second line", user=operator)
    html = operator_client.get(detail_url(order)).content.decode()
    assert html.index("second line") < html.index("first line")
    assert "Manual (operator)" in html and "Automatic" in html


def test_r_grid_5_order_log_list_filters_errors(operator_client, walmart_account):
    order = create_order(account=walmart_account)
    order_log_write(order=order, message="Ship failed: 500", type=OrderLog.Type.ERROR)
    order_log_write(order=order, message="All good", type=OrderLog.Type.SUCCESS)
    url = reverse("admin:orders_orderlog_changelist")
    response = operator_client.get(url, {"type__exact": "error", "created_at__gte": "2000-01-01 00:00:00+00:00"})
    assert response.status_code == 200
    messages = [log.message for log in response.context["cl"].result_list]
    assert messages == ["Ship failed: 500"]


def test_unknown_order_is_404(operator_client):
    assert operator_client.get(reverse("admin:orders_order_change", args=[999999])).status_code == 404


@pytest.mark.parametrize("shipped, canceled, offered", [
    ((2, 0), (0, 2), False),  # Walmart Partially Shipped: the rest canceled, nothing open to ship
    ((2, 2), (0, 0), False),  # every unit shipped (or its shipment on its way)
    ((1, 0), (0, 0), True),   # one unit of the first line and the whole second one still to ship
])
def test_mark_as_shipped_and_cancel_are_offered_only_for_open_units(operator_client, walmart_account, shipped,
                                                                   canceled, offered):
    order = create_order(account=walmart_account, status=OrderStatus.UNSHIPPED, n_items=2)
    for item, qty_shipped, qty_canceled in zip(order.items.order_by("pk"), shipped, canceled):
        OrderItem.objects.filter(pk=item.pk).update(qty_ordered=2, qty_shipped=qty_shipped, qty_canceled=qty_canceled)
    html = operator_client.get(detail_url(order)).content.decode()
    assert ('id="mark-shipped"' in html) is offered
    assert ('id="cancel-order"' in html) is offered


def _section(html: str, element_id: str) -> str:
    start = html.index(f'id="{element_id}"')
    return html[start:html.index("</tr>", start)]


def test_channel_status_mixed_is_said_in_plain_words(operator_client, walmart_account):
    """Walmart's lines in different statuses are recorded as "Mixed": the page says what the lines are."""
    order = create_order(account=walmart_account, status=OrderStatus.PARTIALLY_SHIPPED, n_items=3)
    Order.objects.filter(pk=order.pk).update(channel_status="Mixed")
    first, second, merged = order.items.order_by("pk")
    OrderItem.objects.filter(pk=first.pk).update(channel_line_status="Shipped", qty_ordered=1, qty_shipped=1)
    OrderItem.objects.filter(pk=second.pk).update(channel_line_status="<b>Acknowledged</b>")
    OrderItem.objects.filter(pk=merged.pk).update(channel_line_status="Mixed", qty_ordered=3, qty_shipped=1,
                                                  qty_canceled=1)

    html = operator_client.get(detail_url(order)).content.decode()

    assert "Mixed" not in html and "(channel:" not in html
    status = html[html.index('id="channel-status"'):]
    status = status[:status.index("</small>")]
    assert "on Walmart its lines are in different statuses:" in status
    assert "1 line Shipped" in status and "1 line &lt;b&gt;Acknowledged&lt;/b&gt;" in status
    assert "1 line with units in different statuses (1 shipped, 1 canceled, 1 not shipped yet)" in status
    assert "<b>Acknowledged</b>" not in html  # the channel's words are escaped
    lines = html.count('class="line-channel-status"')
    assert lines == 3 and "<th>On Walmart</th>" in html


def test_channel_status_of_one_status_reads_on_the_channel(operator_client, amazon_account):
    order = create_order(account=amazon_account, status=OrderStatus.UNSHIPPED)
    Order.objects.filter(pk=order.pk).update(channel_status="Unshipped")
    html = operator_client.get(detail_url(order)).content.decode()
    assert "(on Amazon: Unshipped)" in html


def test_totals_show_canceled_and_refunded_money_and_what_is_left(operator_client, walmart_account):
    """An accountant's sum: grand total (the order as placed) − canceled − refunded = what is left."""
    order = create_order(account=walmart_account, status=OrderStatus.PARTIALLY_SHIPPED, n_items=2)
    shipped, canceled = order.items.order_by("pk")
    OrderItem.objects.filter(pk=shipped.pk).update(qty_ordered=2, qty_shipped=2, qty_canceled=0, qty_refunded=1,
                                                   unit_price="22.49", tax="3.60", shipping_charge="2.00",
                                                   refunded_amount="25.29")
    OrderItem.objects.filter(pk=canceled.pk).update(qty_ordered=3, qty_shipped=0, qty_canceled=2, qty_refunded=0,
                                                    unit_price="12.99", tax="3.12", shipping_charge="3.00")
    Order.objects.filter(pk=order.pk).update(subtotal="83.95", shipping_total="5.00", tax_total="6.72",
                                             grand_total="95.67", refunded_total="25.29", is_paid=True)

    html = operator_client.get(detail_url(order)).content.decode()

    assert "<th>Grand total</th>" in html and "<strong>95.67 USD</strong>" in html  # unchanged: as placed
    # 2 of 3 units at 12.99, 2/3 of the line's 3.12 tax and 3.00 shipping
    canceled_row = _section(html, "total-canceled")
    assert "− 30.06 USD" in canceled_row
    assert "2 units canceled: 25.98 price + 2.08 tax + 2.00 shipping" in canceled_row
    refunded_row = _section(html, "total-refunded")
    assert "− 25.29 USD" in refunded_row and "1 unit and the shipping refunded with them, with the memos' adjustments less their fees" in refunded_row
    net_row = _section(html, "total-net")
    assert "Total after cancellations and refunds" in net_row and "40.32 USD" in net_row  # 95.67 − 30.06 − 25.29


def test_totals_of_an_order_with_nothing_canceled_or_refunded(operator_client, walmart_account):
    order = create_order(account=walmart_account, status=OrderStatus.UNSHIPPED)
    order.refresh_from_db()
    html = operator_client.get(detail_url(order)).content.decode()
    assert "nothing canceled" in _section(html, "total-canceled") and "0.00 USD" in _section(html, "total-canceled")
    assert "nothing refunded" in _section(html, "total-refunded")
    assert f"{order.grand_total} USD" in _section(html, "total-net")


def test_totals_count_a_cancellation_only_once_the_channel_confirms_them(
        operator_client, sandbox, import_walmart_orders):
    """Truth over comfort: a queued cancel is money on its way back, not money back yet."""
    from orders.services.cancel import order_cancel
    from tests.helpers import drain_actions

    [order] = import_walmart_orders(1)
    item = order.items.get()
    expected = item.unit_price * item.qty_ordered + item.tax + item.shipping_charge
    order_cancel(order_id=order.pk, reason="out_of_stock")

    html = operator_client.get(detail_url(order)).content.decode()
    canceled_row = _section(html, "total-canceled")
    assert "nothing canceled" in canceled_row and "0.00 USD" in canceled_row
    assert (f"not counted until Walmart confirms the cancellation: {item.qty_ordered} unit"
            f"{'s' if item.qty_ordered > 1 else ''}, {expected} USD") in canceled_row
    assert f"{order.grand_total} USD" in _section(html, "total-net")

    drain_actions()
    html = operator_client.get(detail_url(order)).content.decode()
    canceled_row = _section(html, "total-canceled")
    assert f"− {expected} USD" in canceled_row and "not counted" not in canceled_row
    assert "0.00 USD" in _section(html, "total-net")


def test_totals_count_a_refund_only_once_the_channel_confirms_it(operator_client, sandbox, import_walmart_orders):
    from creditmemos.services import credit_memo_create, credit_memo_defaults
    from orders.services.shipments import Tracking, order_ship
    from tests.helpers import drain_actions, ups_tracking

    [order] = import_walmart_orders(1)
    order_ship(order_id=order.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(3)))
    drain_actions()
    memo = credit_memo_create(order_id=order.pk, memo=credit_memo_defaults(order_id=order.pk))

    html = operator_client.get(detail_url(order)).content.decode()
    refunded_row = _section(html, "total-refunded")
    assert "nothing refunded" in refunded_row
    assert f"not counted until Walmart confirms the refund: {memo.grand_total} USD" in refunded_row
    assert f"{order.grand_total} USD" in _section(html, "total-net")

    drain_actions()
    refunded_row = _section(operator_client.get(detail_url(order)).content.decode(), "total-refunded")
    assert f"− {memo.grand_total} USD" in refunded_row and "not counted" not in refunded_row


def test_totals_say_a_refund_that_failed_will_not_arrive(operator_client, sandbox, import_walmart_orders,
                                                          fast_retries):
    """A refund Walmart refused is not "on its way": the Totals said "not counted until Walmart
    confirms the refund" for a memo that had failed (outside tester)."""
    from creditmemos.services import credit_memo_create, credit_memo_defaults
    from orders.services.shipments import Tracking, order_ship
    from tests.helpers import drain_actions, ups_tracking

    [order] = import_walmart_orders(1)
    order_ship(order_id=order.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(4)))
    drain_actions()
    sandbox.faults.add(kind="500", path="/refund$", method="POST", count=100)
    memo = credit_memo_create(order_id=order.pk, memo=credit_memo_defaults(order_id=order.pk))
    drain_actions()
    assert memo.channel_actions.get().state == ChannelAction.State.FAILED

    refunded_row = _section(operator_client.get(detail_url(order)).content.decode(), "total-refunded")
    assert "nothing refunded" in refunded_row and "confirms the refund" not in refunded_row
    assert f"not counted: a refund of {memo.grand_total} USD failed to reach Walmart" in refunded_row


def test_a_channel_status_read_before_a_change_the_channel_confirmed_says_so_until_the_next_import(
        operator_client, sandbox, import_walmart_orders, wm_account):
    """An order shipped here read "Shipped (on Walmart: Acknowledged)" after Walmart confirmed the shipment."""
    from orders.services.importing import account_import_orders
    from orders.services.shipments import Tracking, order_ship
    from tests.helpers import drain_actions, ups_tracking

    [order] = import_walmart_orders(1)
    order_ship(order_id=order.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(4)))
    drain_actions()

    status = _section(operator_client.get(detail_url(order)).content.decode(), "order-status")
    assert "Walmart confirmed our changes; its status is read again at the next import" in status
    assert order.channel_status not in status  # what Walmart said before the shipment is no longer its status
    html = operator_client.get(detail_url(order)).content.decode()
    lines = html[html.index('id="items"'):html.index('id="shipments"')]
    assert 'class="line-channel-status">—<' in lines and order.items.get().channel_line_status not in lines

    account_import_orders(account_id=wm_account.pk)
    status = _section(operator_client.get(detail_url(order)).content.decode(), "order-status")
    assert "on Walmart: Shipped" in status and "confirmed our changes" not in status


def test_a_shipment_the_channel_reported_reads_as_the_channels_not_as_an_empty_one_of_ours(
        operator_client, amazon_account):
    order = create_order(account=amazon_account, status=OrderStatus.SHIPPED, n_items=1)
    item = order.items.get()
    ShipmentItemFactory(shipment__order=order, shipment__source=Shipment.Source.CHANNEL, shipment__carrier="",
                        shipment__shipping_method="", shipment__tracking_number="", order_item=item)
    ours = ShipmentItemFactory(shipment__order=order, shipment__tracking_number="1ZOURS", order_item=item).shipment

    html = operator_client.get(detail_url(order)).content.decode()
    reported = html[html.index('class="shipment-channel"'):]
    reported = reported[: reported.index("</tr>")]
    sent = html[html.index('class="shipment-operator"'):]
    sent = sent[: sent.index("</tr>")]

    assert reported.count("not given by the channel") == 2  # carrier and tracking #
    assert "gives no ship date" in reported and ">by " in reported  # dated by the channel's last change
    assert "gives no ship date" not in sent
    assert "Shipped on Amazon (reported by the channel)" in reported and "Note tracking here" in reported
    assert "Correct tracking" not in reported and "In sync" not in reported
    assert "1ZOURS" in sent and "Sent by us" in sent and "Correct tracking" in sent and ours.carrier in sent


def test_a_change_the_channel_refused_so_far_says_so_on_top_while_it_is_tried_again(operator_client, walmart_account):
    """Attempts 1–5 of a failing send read only "waiting for Walmart" (the outside tester)."""
    from orders.models import ChannelAction, SyncState
    from tests.factories import ChannelActionFactory

    order = create_order(account=walmart_account, status=OrderStatus.CREATED, n_items=1)
    Order.objects.filter(pk=order.pk).update(sync_state=SyncState.PENDING)
    ChannelActionFactory(order=order, kind=ChannelAction.Kind.ACKNOWLEDGE, state=ChannelAction.State.PENDING,
                         attempts=3, max_attempts=6, last_error="Walmart answered 500: Internal Server Error")

    status = _section(operator_client.get(detail_url(order)).content.decode(), "order-status")

    assert "waiting for Walmart: attempt 3 of 6 failed, trying again" in status
    assert "Walmart answered 500: Internal Server Error" in status  # on hover
    grid = operator_client.get(reverse("admin:orders_order_changelist")).content.decode()
    assert "attempt 3 of 6 failed, trying again" in grid
