"""The read side of Amazon orders behind one adapter: Orders v0 today (getOrders / getOrderItems,
deprecated in favour of Orders 2026-01-01, which can be added as another reader without touching
callers)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any, Protocol

from ..clients import ChannelLine, ChannelOrder, LineState

UNPAID = {"Pending", "PendingAvailability"}


class OrdersReader(Protocol):
    def iter_order_pages(self, *, params: dict[str, str]) -> Iterator[list[ChannelOrder]]: ...

    def get_order(self, order_id: str) -> ChannelOrder: ...


def _money(value: Any) -> Decimal:
    return Decimal(str((value or {}).get("Amount", "0")))


def _date(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


class OrdersV0Reader:
    """`call(method, path, params)` is the client's authenticated GET returning parsed JSON."""

    def __init__(self, call: Callable[..., Any], marketplace_id: str) -> None:
        self.call = call
        self.marketplace_id = marketplace_id

    def iter_order_pages(self, *, params: dict[str, str]) -> Iterator[list[ChannelOrder]]:
        query = {"MarketplaceIds": self.marketplace_id, **params}
        while True:
            payload = self.call("GET", "/orders/v0/orders", params=query, describe="Amazon getOrders")["payload"]
            yield [self._with_items(order) for order in payload.get("Orders") or []]
            token = payload.get("NextToken")
            if not token:
                return
            query = {"MarketplaceIds": self.marketplace_id, "NextToken": token}

    def get_order(self, order_id: str) -> ChannelOrder:
        payload = self.call("GET", f"/orders/v0/orders/{order_id}", describe="Amazon getOrder")["payload"]
        return self._with_items(payload)

    def _items(self, order_id: str) -> list[dict]:
        items, params = [], {}
        while True:
            payload = self.call("GET", f"/orders/v0/orders/{order_id}/orderItems", params=params,
                                describe="Amazon getOrderItems")["payload"]
            items += payload.get("OrderItems") or []
            if not payload.get("NextToken"):
                return items
            params = {"NextToken": payload["NextToken"]}

    def _with_items(self, order: dict) -> ChannelOrder:
        return parse_order(order, self._items(order["AmazonOrderId"]))


def parse_order(order: dict, items: list[dict]) -> ChannelOrder:
    status = order.get("OrderStatus", "")
    canceled = status == "Canceled"
    lines = []
    for item in items:
        qty = int(item.get("QuantityOrdered") or 0)
        shipped = int(item.get("QuantityShipped") or 0)
        cancel = item.get("BuyerRequestedCancel") or {}
        requested = str(cancel.get("IsBuyerRequestedCancel", "false")).lower() == "true"  # a string on Amazon
        line_total = _money(item.get("ItemPrice"))  # ItemPrice is the line total, not the unit price
        lines.append(ChannelLine(
            line_id=str(item["OrderItemId"]),
            line_numbers=(str(item["OrderItemId"]),),
            sku=str(item.get("SellerSKU", "")),
            title=str(item.get("Title", "")),
            qty_ordered=qty,
            qty_shipped=shipped,
            qty_canceled=qty - shipped if canceled else 0,
            unit_price=(line_total / qty).quantize(Decimal("0.01")) if qty else Decimal("0"),
            tax=_money(item.get("ItemTax")),
            shipping_charge=_money(item.get("ShippingPrice")),
            status=status,
            buyer_cancel_requested=requested,
            buyer_cancel_reason=str(cancel.get("BuyerCancelReason", "")) if requested else "",
        ))
    buyer = order.get("BuyerInfo") or {}
    address = order.get("ShippingAddress") or {}
    return ChannelOrder(
        channel_order_id=str(order["AmazonOrderId"]),
        customer_order_id="",
        status=status,
        is_acknowledged=True,
        is_paid=status not in UNPAID,
        sale_date=_date(order.get("PurchaseDate")),
        updated_at=_date(order.get("LastUpdateDate")) or _date(order.get("PurchaseDate")),
        ship_by_date=_date(order.get("LatestShipDate")),
        buyer_name=str(buyer.get("BuyerName") or address.get("Name") or ""),
        buyer_email=str(buyer.get("BuyerEmail", "")).lower(),
        buyer_phone=str(address.get("Phone", "")),
        shipping_address={"name": address.get("Name", ""), "address1": address.get("AddressLine1", ""),
                          "city": address.get("City", ""), "state": address.get("StateOrRegion", ""),
                          "postalCode": address.get("PostalCode", ""), "country": address.get("CountryCode", "")},
        shipping_method=str(order.get("ShipmentServiceLevelCategory", "")),
        fulfillment="channel" if order.get("FulfillmentChannel") == "AFN" else "merchant",
        currency=str((order.get("OrderTotal") or {}).get("CurrencyCode", "USD")),
        lines=tuple(lines),
        line_states={line.line_id: LineState(qty_ordered=line.qty_ordered, qty_shipped=line.qty_shipped,
                                             qty_canceled=line.qty_canceled) for line in lines},
        raw={"order": order, "items": items},
    )
