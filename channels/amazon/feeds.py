"""Amazon order feeds (CONTRACTS.md, Amazon §3): the XML we send and the processing report we read."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from decimal import Decimal

from ..clients import CancelRequest, RefundRequest

CANCEL_FEED = "POST_ORDER_ACKNOWLEDGEMENT_DATA"
REFUND_FEED = "POST_PAYMENT_ADJUSTMENT_DATA"
CONTENT_TYPE = "text/xml; charset=UTF-8"


def _envelope(merchant_id: str, message_type: str) -> tuple[ET.Element, ET.Element]:
    root = ET.Element("AmazonEnvelope", {
        "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
        "xsi:noNamespaceSchemaLocation": "amzn-envelope.xsd",
    })
    header = ET.SubElement(root, "Header")
    ET.SubElement(header, "DocumentVersion").text = "1.01"
    ET.SubElement(header, "MerchantIdentifier").text = merchant_id or "MERCHANT"
    ET.SubElement(root, "MessageType").text = message_type
    message = ET.SubElement(root, "Message")
    ET.SubElement(message, "MessageID").text = "1"
    return root, message


def _bytes(root: ET.Element) -> bytes:
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def cancel_feed(*, merchant_id: str, order_id: str, cancellation: CancelRequest) -> bytes:
    """OrderAcknowledgement with StatusCode Failure and a CancelReason per item."""
    root, message = _envelope(merchant_id, "OrderAcknowledgement")
    ack = ET.SubElement(message, "OrderAcknowledgement")
    ET.SubElement(ack, "AmazonOrderID").text = order_id
    ET.SubElement(ack, "StatusCode").text = "Failure"
    for line in cancellation.lines:
        item = ET.SubElement(ack, "Item")
        ET.SubElement(item, "AmazonOrderItemCode").text = line.line_number
        ET.SubElement(item, "CancelReason").text = cancellation.reason
    return _bytes(root)


def refund_feed(*, merchant_id: str, order_id: str, refund: RefundRequest, adjustment_key: str) -> bytes:
    """OrderAdjustment with positive Principal / Tax / Shipping components per item. The
    MerchantAdjustmentItemID (our action's key) lets Amazon apply a resent adjustment only once."""
    root, message = _envelope(merchant_id, "OrderAdjustment")
    adjustment = ET.SubElement(message, "OrderAdjustment")
    ET.SubElement(adjustment, "AmazonOrderID").text = order_id
    ET.SubElement(adjustment, "ActionType").text = "Refund"
    for index, line in enumerate(refund.lines, start=1):
        adjusted = ET.SubElement(adjustment, "AdjustedItem")
        ET.SubElement(adjusted, "AmazonOrderItemCode").text = line.line_number
        ET.SubElement(adjusted, "MerchantAdjustmentItemID").text = f"{adjustment_key}-{index}"[:40]
        ET.SubElement(adjusted, "AdjustmentReason").text = refund.reason
        prices = ET.SubElement(adjusted, "ItemPriceAdjustments")
        for kind, amount in (("Principal", line.amount), ("Tax", line.tax), ("Shipping", line.shipping)):
            if amount:
                component = ET.SubElement(prices, "Component")
                ET.SubElement(component, "Type").text = kind
                ET.SubElement(component, "Amount", {"currency": "USD"}).text = f"{Decimal(amount):.2f}"
        if line.qty:  # a shipping-only adjustment names no units
            ET.SubElement(adjusted, "Quantity").text = str(line.qty)
    return _bytes(root)


def report_errors(report: bytes) -> tuple[str, ...]:
    """The per-message errors of a processing report (an unreadable report is an error itself)."""
    try:
        root = ET.fromstring(report)
    except ET.ParseError:
        return ("the processing report could not be read",)
    return tuple(
        f"message {result.findtext('MessageID', '?')}: {result.findtext('ResultDescription', '').strip()}"
        f" (code {result.findtext('ResultMessageCode', '')})"
        for result in root.iter("Result")
        if result.findtext("ResultCode") == "Error"
    )
