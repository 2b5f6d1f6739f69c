"""Amazon Orders API 2026-01-01 (models/orders-api-model/orders_2026-01-01.json in Amazon's
selling-partner-api-models): searchOrders (GET /orders/2026-01-01/orders) and getOrder
(GET /orders/2026-01-01/orders/{orderId}). Orders come with their items, so one call per page reads
what v0 needed a getOrderItems call per order for. Answers are camelCase and not wrapped in `payload`;
pages follow `pagination.nextToken`, sent back as `paginationToken`.

Buyer and recipient data come with `includedData=BUYER,RECIPIENT` and the ordinary access token:
Amazon's "Access Orders PII" guide says the 2026-01-01 API needs no Restricted Data Token.
Statuses are read into the v0 names the rest of the back-office knows (UNSHIPPED → Unshipped)."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

from ..clients import ChannelLine, ChannelOrder, LineState, OrderPage, OrderUnreadable, UnreadableOrder
from ..validation import (ID_MAX_LENGTH, MAX_ORDER_TOTAL, amount, check_order, mapping, read_or_set_aside,
                          required_id, sequence, whole_number)
from .reader import UNPAID, _date

ORDERS_PATH = "/orders/2026-01-01/orders"
INCLUDED_DATA = "BUYER,RECIPIENT,PROCEEDS,CANCELLATION,FULFILLMENT"
STATUSES = {"PENDING_AVAILABILITY": "PendingAvailability", "PENDING": "Pending", "UNSHIPPED": "Unshipped",
            "PARTIALLY_SHIPPED": "PartiallyShipped", "SHIPPED": "Shipped", "CANCELLED": "Canceled",
            "UNFULFILLABLE": "Unfulfillable"}


class Orders2026Reader:
    restricted_resources: list[dict[str, Any]] = []

    def __init__(self, call: Callable[..., Any], marketplace_id: str) -> None:
        self.call = call
        self.marketplace_id = marketplace_id

    def iter_order_pages(self, *, page_size: int, created_after: str | None = None, created_before: str | None = None,
                         updated_after: str | None = None) -> Iterator[OrderPage]:
        window = {"createdAfter": created_after, "createdBefore": created_before, "lastUpdatedAfter": updated_after}
        first = {"marketplaceIds": self.marketplace_id, "maxResultsPerPage": str(page_size),
                 "includedData": INCLUDED_DATA, **{name: value for name, value in window.items() if value}}
        query = first
        while True:
            body = self.call("GET", ORDERS_PATH, params=query, operation="searchOrders",
                             describe="Amazon searchOrders")
            yield [self._read(order) for order in mapping(body, "the searchOrders answer").get("orders") or []]
            token = (body.get("pagination") or {}).get("nextToken")
            if not token:
                return
            query = {**first, "paginationToken": token}

    def get_order(self, order_id: str) -> ChannelOrder:
        body = self.call("GET", f"{ORDERS_PATH}/{urllib.parse.quote(order_id)}", params={"includedData": INCLUDED_DATA},
                         operation="getOrder@2026-01-01", describe="Amazon getOrder")
        return check_order(parse_order(body["order"]))

    @staticmethod
    def _read(order: Any) -> ChannelOrder | UnreadableOrder:
        order_id = order.get("orderId") if isinstance(order, dict) else None

        def read() -> ChannelOrder:
            if not isinstance(order, dict):
                raise OrderUnreadable(f"the order is {'null' if order is None else 'not an object'}")
            if len(required_id(order_id, "orderId")) > ID_MAX_LENGTH:
                raise OrderUnreadable(f"orderId is longer than {ID_MAX_LENGTH} characters")
            return check_order(parse_order(order))

        return read_or_set_aside(read, {"order": order}, order_id)


def _money(value: Any, what: str) -> Decimal:
    return amount(mapping(value, what).get("amount", "0"), what)


def _breakdown(proceeds: dict, kind: str, what: str) -> Decimal:
    """The subtotal of one breakdown type (ITEM, TAX, SHIPPING) of an item's proceeds."""
    total = Decimal("0")
    for entry in sequence(proceeds.get("breakdowns") or [], f"{what} breakdowns"):
        entry = mapping(entry, f"{what} breakdown")
        if entry.get("type") == kind:
            total += _money(entry.get("subtotal"), f"{what} {kind.lower()}")
    return total


def parse_order(order: dict) -> ChannelOrder:
    """Pending orders come without proceeds (Amazon withholds money until payment): read as zero and
    read again when paid, as with v0."""
    order_id = required_id(order.get("orderId"), "orderId")
    fulfillment = mapping(order.get("fulfillment"), "fulfillment")
    raw_status = str(fulfillment.get("fulfillmentStatus", ""))
    status = STATUSES.get(raw_status, raw_status)
    canceled = status == "Canceled"
    lines = []
    for item in sequence(order.get("orderItems") or [], "orderItems"):
        item = mapping(item, "an order item")
        item_id = required_id(item.get("orderItemId"), "orderItemId")
        where = f"item {item_id}"
        product = mapping(item.get("product"), f"{where} product")
        proceeds = mapping(item.get("proceeds"), f"{where} proceeds")
        item_fulfillment = mapping(item.get("fulfillment"), f"{where} fulfillment")
        qty = whole_number(item.get("quantityOrdered") or 0, f"{where} quantity")
        shipped = whole_number(item_fulfillment.get("quantityFulfilled") or 0, f"{where} shipped quantity")
        line_total = _breakdown(proceeds, "ITEM", where)  # the item's proceeds: unit price × quantity
        if abs(line_total) > MAX_ORDER_TOTAL:
            raise OrderUnreadable(f"{where}: the price {line_total} is more than {MAX_ORDER_TOTAL:,}")
        request = mapping(mapping(item.get("cancellation"), f"{where} cancellation").get("cancellationRequest"),
                          f"{where} cancellationRequest")
        requested = bool(request) and request.get("requester", "BUYER") == "BUYER"
        lines.append(ChannelLine(
            line_id=item_id,
            line_numbers=(item_id,),
            sku=str(product.get("sellerSku", "")),
            title=str(product.get("title", "")),
            qty_ordered=qty,
            qty_shipped=shipped,
            qty_canceled=qty - shipped if canceled else 0,
            unit_price=(line_total / qty).quantize(Decimal("0.01")) if qty else Decimal("0"),
            tax=_breakdown(proceeds, "TAX", where),
            shipping_charge=_breakdown(proceeds, "SHIPPING", where),
            status=status,
            buyer_cancel_requested=requested,
            buyer_cancel_reason=str(request.get("cancelReason", "")) if requested else "",
        ))
    buyer = mapping(order.get("buyer"), "buyer")
    address = mapping(mapping(order.get("recipient"), "recipient").get("deliveryAddress"), "deliveryAddress")
    grand_total = mapping(mapping(order.get("proceeds"), "proceeds").get("grandTotal"), "grandTotal")
    ship_by = mapping(fulfillment.get("shipByWindow"), "shipByWindow")
    return ChannelOrder(
        channel_order_id=order_id,
        customer_order_id="",
        status=status,
        is_acknowledged=True,
        is_paid=status not in UNPAID,
        sale_date=_date(order.get("createdTime"), "createdTime"),
        updated_at=_date(order.get("lastUpdatedTime"), "lastUpdatedTime") or _date(order.get("createdTime"),
                                                                                     "createdTime"),
        ship_by_date=_date(ship_by.get("latestDateTime"), "shipByWindow.latestDateTime"),
        buyer_name=str(buyer.get("buyerName") or address.get("name") or ""),
        buyer_email=str(buyer.get("buyerEmail", "")).lower(),
        buyer_phone=str(address.get("phone", "")),
        shipping_address={"name": address.get("name", ""), "address1": address.get("addressLine1", ""),
                          "city": address.get("city", ""), "state": address.get("stateOrRegion", ""),
                          "postalCode": address.get("postalCode", ""), "country": address.get("countryCode", "")},
        shipping_method=str(fulfillment.get("fulfillmentServiceLevel", "")).replace("_", " ").title(),
        fulfillment="channel" if fulfillment.get("fulfilledBy") == "AMAZON" else "merchant",
        currency=str(grand_total.get("currencyCode", "USD")),
        lines=tuple(lines),
        line_states={line.line_id: LineState(qty_ordered=line.qty_ordered, qty_shipped=line.qty_shipped,
                                             qty_canceled=line.qty_canceled) for line in lines},
        raw={"order": order},
    )
