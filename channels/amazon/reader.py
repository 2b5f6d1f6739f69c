"""The read side of Amazon orders behind one adapter: Orders 2026-01-01 (the default; reader_2026) and
Orders v0 (getOrders / getOrderItems, whose reads Amazon retires on 27 March 2027), chosen per account."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any, Protocol

from ..clients import (ChannelLine, ChannelOrder, LineState, OrderPage, OrderUnreadable, PermanentChannelError,
                       UnreadableOrder)
from ..validation import (ID_MAX_LENGTH, MAX_ORDER_TOTAL, amount, check_order, mapping, read_or_set_aside,
                          required_id, sequence, whole_number)

UNPAID = {"Pending", "PendingAvailability"}


class OrdersReader(Protocol):
    # What a Restricted Data Token must cover for this reader's personal data (empty: none needed).
    restricted_resources: list[dict[str, Any]]

    def iter_order_pages(self, *, page_size: int, created_after: str | None = None, created_before: str | None = None,
                         updated_after: str | None = None) -> Iterator[OrderPage]: ...

    def get_order(self, order_id: str) -> ChannelOrder: ...


def _money(value: Any, what: str) -> Decimal:
    return amount(mapping(value, what).get("Amount", "0"), what)


def _date(value: Any, what: str) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise OrderUnreadable(f"{what} {value!r} is not a time") from None


class OrdersV0Reader:
    """`call(method, path, *, operation, describe, params, restricted)` is the client's authenticated
    GET returning parsed JSON; `restricted` sends the Restricted Data Token instead of the access token.

    Buyer and address data of getOrders, getOrder and getOrderItems are restricted (Tokens API use
    case guide; ordersV0.json): one RDT with these generic resources covers every order."""

    restricted_resources = [
        {"method": "GET", "path": "/orders/v0/orders", "dataElements": ["buyerInfo", "shippingAddress"]},
        {"method": "GET", "path": "/orders/v0/orders/{orderId}", "dataElements": ["buyerInfo", "shippingAddress"]},
        {"method": "GET", "path": "/orders/v0/orders/{orderId}/orderItems", "dataElements": ["buyerInfo"]},
    ]

    def __init__(self, call: Callable[..., Any], marketplace_id: str) -> None:
        self.call = call
        self.marketplace_id = marketplace_id

    def iter_order_pages(self, *, page_size: int, created_after: str | None = None, created_before: str | None = None,
                         updated_after: str | None = None) -> Iterator[OrderPage]:
        query = {"MarketplaceIds": self.marketplace_id, "MaxResultsPerPage": str(page_size)}
        window = {"CreatedAfter": created_after, "CreatedBefore": created_before, "LastUpdatedAfter": updated_after}
        query.update({name: value for name, value in window.items() if value})
        while True:
            payload = self.call("GET", "/orders/v0/orders", params=query, operation="getOrders",
                                describe="Amazon getOrders", restricted=True)["payload"]
            yield [self._read(order) for order in payload.get("Orders") or []]
            token = payload.get("NextToken")
            if not token:
                return
            query = {"MarketplaceIds": self.marketplace_id, "NextToken": token}

    def get_order(self, order_id: str) -> ChannelOrder:
        payload = self.call("GET", f"/orders/v0/orders/{order_id}", operation="getOrder", describe="Amazon getOrder",
                            restricted=True)["payload"]
        return self._with_items(payload)

    def _items(self, order_id: str) -> Any:
        """The order's items; whatever else the channel sent in their place, for the parser to refuse."""
        items, params = [], {}
        while True:
            payload = self.call("GET", f"/orders/v0/orders/{order_id}/orderItems", params=params,
                                operation="getOrderItems", describe="Amazon getOrderItems", restricted=True)["payload"]
            page = payload.get("OrderItems") or []
            if not isinstance(page, list):
                return page
            items += page
            if not payload.get("NextToken"):
                return items
            params = {"NextToken": payload["NextToken"]}

    def _with_items(self, order: dict) -> ChannelOrder:
        return parse_order(order, self._items(order["AmazonOrderId"]))

    def _read(self, order: Any) -> ChannelOrder | UnreadableOrder:
        """One order of a listing page, or the order set aside: its items are asked for only when
        its id can be used in a request."""
        order_id = order.get("AmazonOrderId") if isinstance(order, dict) else None

        def read() -> ChannelOrder:
            if not isinstance(order, dict):
                raise OrderUnreadable(f"the order is {'null' if order is None else 'not an object'}")
            if len(required_id(order_id, "AmazonOrderId")) > ID_MAX_LENGTH:
                raise OrderUnreadable(f"AmazonOrderId is longer than {ID_MAX_LENGTH} characters")
            try:
                items = self._items(str(order_id))
            except PermanentChannelError as refused:
                raise OrderUnreadable(f"its items could not be read: {refused.message}") from None
            raw["items"] = items
            return check_order(parse_order(order, items))

        raw: dict[str, Any] = {"order": order}
        return read_or_set_aside(read, raw, order_id)


def parse_order(order: dict, items: Any) -> ChannelOrder:
    """Pending orders come without prices and address (Amazon withholds them until payment); they are
    read as zero and read again when the order is paid (orders.services.importing)."""
    status = str(order.get("OrderStatus", ""))
    canceled = status == "Canceled"
    lines = []
    for item in sequence(items, "OrderItems"):
        item = mapping(item, "an order item")
        item_id = required_id(item.get("OrderItemId"), "OrderItemId")
        where = f"item {item_id}"
        qty = whole_number(item.get("QuantityOrdered") or 0, f"{where} quantity")
        shipped = whole_number(item.get("QuantityShipped") or 0, f"{where} shipped quantity")
        cancel = mapping(item.get("BuyerRequestedCancel"), f"{where} BuyerRequestedCancel")
        requested = str(cancel.get("IsBuyerRequestedCancel", "false")).lower() == "true"  # a string on Amazon
        line_total = _money(item.get("ItemPrice"), f"{where} price")  # the line total, not the unit price
        if abs(line_total) > MAX_ORDER_TOTAL:
            raise OrderUnreadable(f"{where}: the price {line_total} is more than {MAX_ORDER_TOTAL:,}")
        lines.append(ChannelLine(
            line_id=item_id,
            line_numbers=(item_id,),
            sku=str(item.get("SellerSKU", "")),
            title=str(item.get("Title", "")),
            qty_ordered=qty,
            qty_shipped=shipped,
            qty_canceled=qty - shipped if canceled else 0,
            unit_price=(line_total / qty).quantize(Decimal("0.01")) if qty else Decimal("0"),
            tax=_money(item.get("ItemTax"), f"{where} tax"),
            shipping_charge=_money(item.get("ShippingPrice"), f"{where} shipping"),
            status=status,
            buyer_cancel_requested=requested,
            buyer_cancel_reason=str(cancel.get("BuyerCancelReason", "")) if requested else "",
        ))
    buyer = mapping(order.get("BuyerInfo"), "BuyerInfo")
    address = mapping(order.get("ShippingAddress"), "ShippingAddress")
    return ChannelOrder(
        channel_order_id=required_id(order.get("AmazonOrderId"), "AmazonOrderId"),
        customer_order_id="",
        status=status,
        is_acknowledged=True,
        is_paid=status not in UNPAID,
        sale_date=_date(order.get("PurchaseDate"), "PurchaseDate"),
        updated_at=_date(order.get("LastUpdateDate"), "LastUpdateDate") or _date(order.get("PurchaseDate"), "PurchaseDate"),
        ship_by_date=_date(order.get("LatestShipDate"), "LatestShipDate"),
        buyer_name=str(buyer.get("BuyerName") or address.get("Name") or ""),
        buyer_email=str(buyer.get("BuyerEmail", "")).lower(),
        buyer_phone=str(address.get("Phone", "")),
        shipping_address={"name": address.get("Name", ""), "address1": address.get("AddressLine1", ""),
                          "city": address.get("City", ""), "state": address.get("StateOrRegion", ""),
                          "postalCode": address.get("PostalCode", ""), "country": address.get("CountryCode", "")},
        shipping_method=str(order.get("ShipmentServiceLevelCategory", "")),
        fulfillment="channel" if order.get("FulfillmentChannel") == "AFN" else "merchant",
        currency=str(mapping(order.get("OrderTotal"), "OrderTotal").get("CurrencyCode", "USD")),
        lines=tuple(lines),
        line_states={line.line_id: LineState(qty_ordered=line.qty_ordered, qty_shipped=line.qty_shipped,
                                             qty_canceled=line.qty_canceled) for line in lines},
        raw={"order": order, "items": items},
    )

