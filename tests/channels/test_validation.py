"""Issue 8 §1: values a channel order can carry that are readable but wrong are refused, not clamped;
over-long free text is cut to its column with a log line."""

import json
import logging

import pytest

from channels.clients import UnreadableOrder
from channels.sandbox.walmart import WalmartMarketplace
from channels.walmart.parser import read_order
from orders.models import ImportProblem, Order
from orders.services.importing import account_import_orders


def walmart_order(**changes):
    market = WalmartMarketplace()
    [po] = market.create_orders(count=1, qty=2, price="10.00")
    market.malform(po, set=changes)
    return json.loads(json.dumps(market.render_as_sent(market.orders[po]), default=str))


def line_status(status, qty):
    return {"status": status, "statusQuantity": {"unitOfMeasurement": "EACH", "amount": str(qty)}}


@pytest.mark.parametrize(("changes", "reason"), [
    ({"orderLines.orderLine.0.orderLineStatuses.orderLineStatus": [line_status("Shipped", 2),
                                                                   line_status("Cancelled", 1)]},
     "line 1: 2 shipped and 1 canceled are more than the 2 ordered"),
    ({"orderLines.orderLine.0.refund": {"refundCharges": {"refundCharge": [
        {"charge": {"chargeAmount": {"amount": -500}, "tax": {"taxAmount": {"amount": 0}}}}]}}},
     "line 1: refunded 500, more than the 23.60 charged"),
])
def test_readable_but_wrong_values_are_refused_not_clamped(changes, reason):
    read = read_order(walmart_order(**changes))
    assert isinstance(read, UnreadableOrder) and read.reason == reason


def test_a_readable_order_passes(db):
    assert not isinstance(read_order(walmart_order()), UnreadableOrder)


@pytest.mark.django_db
def test_over_long_free_text_is_cut_to_its_column_with_a_log_line(sandbox, wm_account, caplog):
    [po] = sandbox.walmart.create_orders(count=1)
    sandbox.walmart.orders[po].buyer = "N" * 300

    with caplog.at_level(logging.INFO, logger="orders.importing"):
        account_import_orders(account_id=wm_account.pk)

    assert Order.objects.get(channel_order_id=po).buyer_name == "N" * 255
    assert f"order {po}: buyer_name cut from 300 to 255 characters" in caplog.text
    assert not ImportProblem.objects.exists()
