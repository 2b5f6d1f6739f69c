"""Walmart order JSON → the plain records of channels.clients (CONTRACTS.md, Walmart §2)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

from ..clients import (ChannelLine, ChannelOrder, ChannelReturn, LineState, OrderUnreadable, ReturnLine, TrackingInfo,
                       UnreadableOrder)
from ..validation import amount, check_order, mapping, read_or_set_aside, required_id, sequence, whole_number

OPEN_STATUSES = {"Created", "Acknowledged"}


def from_ms(value: Any, what: str = "a date") -> dt.datetime | None:
    if value in (None, ""):
        return None
    try:
        return dt.datetime.fromtimestamp(whole_number(value, what) / 1000, tz=dt.UTC)
    except (OverflowError, OSError, ValueError):  # OrderUnreadable included: "not a whole number" of ms
        raise OrderUnreadable(f"{what} {value!r} is not a time") from None


def _amount(value: Any, what: str) -> Decimal:
    if isinstance(value, dict):
        value = value.get("amount", value.get("currencyAmount", 0))
    return amount(value or 0, what)


def _qty(status_or_line: dict, key: str, what: str) -> int:
    return whole_number(mapping(status_or_line.get(key), what).get("amount") or 0, what)


def _as_list(container: Any, key: str) -> list:
    """Walmart wraps lists in an object ({"orderLine": [...]}); a bare list is read too."""
    if isinstance(container, dict):
        return sequence(container.get(key), key)
    return sequence(container, key)


class _RawLine:
    """One Walmart order line with its quantities per status."""

    def __init__(self, data: Any) -> None:
        self.data = data = mapping(data, "an order line")
        self.number = required_id(data.get("lineNumber"), "lineNumber of an order line")
        where = f"line {self.number}"
        item = mapping(data.get("item"), f"{where} item")
        self.sku = str(item.get("sku", ""))
        self.title = str(item.get("productName", ""))
        self.qty = _qty(data, "orderLineQuantity", f"{where} quantity")
        self.status_date = from_ms(data.get("statusDate"), f"{where} statusDate")
        self.shipped = self.canceled = self.open = 0
        self.acknowledged = False
        self.tracking: list[TrackingInfo] = []
        self.cancel_reason = ""
        for status in _as_list(data.get("orderLineStatuses"), "orderLineStatus"):
            status = mapping(status, f"{where} status")
            amount = _qty(status, "statusQuantity", f"{where} status quantity")
            name = status.get("status")
            if name in ("Shipped", "Delivered"):
                self.shipped += amount
                if status.get("trackingInfo"):  # one Shipped status per package, each with its quantity
                    self.tracking.append(_tracking(mapping(status["trackingInfo"], f"{where} trackingInfo"), amount))
            elif name == "Cancelled":
                self.canceled += amount
                self.cancel_reason = status.get("cancellationReason", "") or self.cancel_reason
            elif name in OPEN_STATUSES:
                self.open += amount
                self.acknowledged = self.acknowledged or name == "Acknowledged"
        self.price = self.tax = self.shipping = Decimal("0")
        for charge in _as_list(data.get("charges"), "charge"):
            charge = mapping(charge, f"{where} charge")
            tax = _amount(mapping(charge.get("tax"), f"{where} tax").get("taxAmount"), f"{where} tax")
            if charge.get("chargeType") == "PRODUCT":
                self.price += _amount(charge.get("chargeAmount"), f"{where} price")
                self.tax += tax
            elif charge.get("chargeType") == "SHIPPING":
                self.shipping += _amount(charge.get("chargeAmount"), f"{where} shipping")
                self.tax += tax
        refund_charges = _as_list(mapping(data.get("refund"), f"{where} refund").get("refundCharges"), "refundCharge")
        # Walmart sends refunds as negative charges; the back-office keeps refunded money positive.
        self.refunded = Decimal("0")
        for refund_charge in refund_charges:
            charge = mapping(mapping(refund_charge, f"{where} refund").get("charge"), f"{where} refund charge")
            self.refunded -= _amount(charge.get("chargeAmount"), f"{where} refund") + _amount(
                mapping(charge.get("tax"), f"{where} refund tax").get("taxAmount"), f"{where} refund tax")
        self.intent_to_cancel = str(data.get("intentToCancel", "")).lower() in ("true", "1", "yes")

    @property
    def status(self) -> str:
        if self.canceled == self.qty:
            return "Cancelled"
        if self.shipped and self.shipped + self.canceled == self.qty:
            return "Shipped"
        if self.shipped or self.canceled:  # some units shipped or canceled, the others still open
            return "Mixed"
        return "Acknowledged" if self.acknowledged else "Created"


def _tracking(info: dict, qty: int) -> TrackingInfo:
    carrier = info.get("carrierName") or {}
    return TrackingInfo(
        carrier=carrier.get("carrier") or carrier.get("otherCarrier") or "",
        method=info.get("methodCode", ""),
        tracking_number=info.get("trackingNumber", ""),
        tracking_url=info.get("trackingURL", "") or "",
        shipped_at=from_ms(info.get("shipDateTime"), "shipDateTime"),
        qty=qty,
    )


def _merge(raw_lines: list[_RawLine]) -> list[ChannelLine]:
    """One item per line, except Walmart's duplicated single-unit lines of a SKU, which become one
    item whose line numbers are ordered shipped, open, canceled (so units are consumed from the
    front when shipping and from the back when canceling)."""
    groups: dict[tuple[str, Decimal], list[_RawLine]] = defaultdict(list)
    singles: list[list[_RawLine]] = []
    for raw in raw_lines:
        if raw.qty == 1:
            groups[(raw.sku, raw.price)].append(raw)
        else:
            singles.append([raw])
    merged_groups = singles + list(groups.values())
    merged_groups.sort(key=lambda group: int(group[0].number) if group[0].number.isdigit() else 0)

    lines = []
    for group in merged_groups:
        ordered = sorted(group, key=lambda raw: (0 if raw.shipped else 2 if raw.canceled else 1,
                                                  int(raw.number) if raw.number.isdigit() else 0))
        first = min(group, key=lambda raw: int(raw.number) if raw.number.isdigit() else 0)
        qty = sum(raw.qty for raw in group)
        statuses = {raw.status for raw in group}
        lines.append(
            ChannelLine(
                line_id=first.number,
                line_numbers=tuple(raw.number for raw in ordered),
                sku=first.sku,
                title=first.title,
                qty_ordered=qty,
                qty_shipped=sum(raw.shipped for raw in group),
                qty_canceled=sum(raw.canceled for raw in group),
                unit_price=first.price,
                tax=sum((raw.tax for raw in group), Decimal("0")),
                shipping_charge=sum((raw.shipping for raw in group), Decimal("0")),
                status=statuses.pop() if len(statuses) == 1 else "Mixed",
                refunded_amount=sum((raw.refunded for raw in group), Decimal("0")),
                buyer_cancel_requested=any(raw.intent_to_cancel for raw in group),
                buyer_cancel_reason="",  # Walmart flags the request (intentToCancel) without a reason
                tracking=tuple(t for raw in group for t in raw.tracking),
            )
        )
    return lines


def read_order(data: Any) -> ChannelOrder | UnreadableOrder:
    """One order of a listing page: parsed and checked, or set aside with the reason."""
    order_id = data.get("purchaseOrderId") if isinstance(data, dict) else None
    return read_or_set_aside(lambda: check_order(parse_order(data)), data, order_id)


def parse_order(data: Any) -> ChannelOrder:
    if not isinstance(data, dict):
        raise OrderUnreadable(f"the order is {'null' if data is None else 'not an object'}")
    channel_order_id = required_id(data.get("purchaseOrderId"), "purchaseOrderId")
    raw_lines = [_RawLine(line) for line in _as_list(data.get("orderLines"), "orderLine")]
    shipping = mapping(data.get("shippingInfo"), "shippingInfo")
    address = mapping(shipping.get("postalAddress"), "shippingInfo.postalAddress")
    ship_node = data.get("shipNode")
    node_type = ship_node.get("type", "") if isinstance(ship_node, dict) else ""
    dates = [line.status_date for line in raw_lines]
    order_date = from_ms(data.get("orderDate"), "orderDate")
    lines = _merge(raw_lines)
    statuses = {raw.status for raw in raw_lines}
    return ChannelOrder(
        channel_order_id=channel_order_id,
        customer_order_id=str(data.get("customerOrderId", "")),
        status=statuses.pop() if len(statuses) == 1 else "Mixed",
        is_acknowledged=any(raw.acknowledged or raw.shipped or raw.canceled for raw in raw_lines),
        is_paid=True,
        sale_date=order_date,
        updated_at=max([d for d in dates if d] or [order_date]),
        ship_by_date=from_ms(shipping.get("estimatedShipDate"), "estimatedShipDate"),
        buyer_name=str(address.get("name", "")),
        buyer_email=str(data.get("customerEmailId", "")).lower(),
        buyer_phone=str(shipping.get("phone", "")),
        shipping_address=address,
        shipping_method=str(shipping.get("methodCode", "")),
        fulfillment="channel" if node_type == "WFSFulfilled" else "merchant",
        currency=str(mapping(mapping(data.get("orderSummary"), "orderSummary").get("totalAmount"),
                             "orderSummary.totalAmount").get("currencyUnit", "USD")),
        lines=tuple(lines),
        line_states={
            raw.number: LineState(qty_ordered=raw.qty, qty_shipped=raw.shipped, qty_canceled=raw.canceled,
                                  refunded_amount=raw.refunded)
            for raw in raw_lines
        },
        raw=data,
    )


def parse_return(data: dict) -> ChannelReturn:
    lines = data.get("returnOrderLines") or []
    created = data.get("returnOrderDate")
    return ChannelReturn(
        return_order_id=str(data["returnOrderId"]),
        channel_order_id=str(lines[0].get("purchaseOrderId", "")) if lines else "",
        status=str(lines[0].get("currentRefundStatus", "")) if lines else "",
        created_at=dt.datetime.fromisoformat(created) if isinstance(created, str) else from_ms(created),
        lines=tuple(
            ReturnLine(
                return_line_number=int(line["returnOrderLineNumber"]),
                line_number=str(line.get("purchaseOrderLineNumber", "")),
                qty=_returned_qty(line),
                qty_refunded=_refunded_qty(line),
                last_item=line.get("lastItem") is True,
                **_unit_refund(line),
            )
            for line in lines
        ),
        raw=data,
    )


def _returned_qty(line: dict) -> int:
    return int((line.get("quantity") or {}).get("measurementValue") or 0)


def _refunded_qty(line: dict) -> int:
    if line.get("refundedQty") is not None:
        return int(Decimal(str(line["refundedQty"])))
    return _returned_qty(line) if line.get("currentRefundStatus") == "REFUND_COMPLETED" else 0


def _unit_refund(line: dict) -> dict[str, Decimal | None]:
    """What Walmart refunds a returned unit of the line, from its product charges (a discount
    subtracted): price and tax per unit, and the excess it adds on the line's last item."""
    product = [charge for charge in sequence(line.get("charges"), "charges")
               if isinstance(charge, dict) and charge.get("chargeCategory") == "PRODUCT"
               and charge.get("isBillable") is not False and charge.get("chargePerUnit") is not None]
    if not product:
        return {}
    figures = dict.fromkeys(("unit_price", "unit_tax", "excess_price", "excess_tax"), Decimal("0"))
    for charge in product:
        sign = -1 if charge.get("isDiscount") is True else 1
        figures["unit_price"] += sign * _amount(charge["chargePerUnit"], "chargePerUnit")
        figures["excess_price"] += sign * _amount(charge.get("excessCharge"), "excessCharge")
        for tax in sequence(charge.get("tax"), "tax"):
            figures["unit_tax"] += sign * _amount(mapping(tax, "tax").get("taxPerUnit"), "taxPerUnit")
            figures["excess_tax"] += sign * _amount(tax.get("excessTax"), "excessTax")
    return figures
