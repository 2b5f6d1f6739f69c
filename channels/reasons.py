"""Refund and cancel reasons as operators read them, one style everywhere (grid, credit memo form,
Order Log): words first, the channel's code beside — "Out of stock (SELLER_CANCEL_OUT_OF_STOCK)"."""

import re

from .capabilities import rules_for
from .models import Channel

WORDS = {
    "CustomerChangedMind": "Customer changed mind",
    "DamagedItem": "Damaged item",
    "DefectiveItem": "Defective item",
    "ItemNotAsAdvertised": "Item not as advertised",
    "IncorrectItemReceived": "Incorrect item received",
    "CancelledYetShipped": "Canceled yet shipped",
    "ItemNotReceivedByCustomer": "Item not received by customer",
    "IncorrectShippingPrice": "Incorrect shipping price",
    "BillingError": "Billing error",
    "TaxExemptCustomer": "Tax-exempt customer",
    "CustomerReceivedItemLate": "Customer received item late",
    "CustomerReturn": "Customer return",
    "NoInventory": "No inventory",
    "GeneralAdjustment": "General adjustment",
    "CouldNotShip": "Could not ship",
    "PriceError": "Price error",
    "BuyerCanceled": "Buyer canceled",
    "ShippingAddressUndeliverable": "Shipping address undeliverable",
    "SELLER_CANCEL_OUT_OF_STOCK": "Out of stock",
    "SELLER_CANCEL_PRICING_ERROR": "Pricing error",
    "SELLER_CANCEL_FRAUD_STOP_SHIPMENT": "Fraud: stop shipment",
    "SELLER_CANCEL_ADDRESS_NOT_SERVICEABLE": "Address not serviceable",
    "CUSTOMER_REQUESTED_SELLER_TO_CANCEL": "Buyer asked to cancel",
}


def reason_words(code: str) -> str:
    """Known codes have their words; others are split at case changes and underscores."""
    if code in WORDS:
        return WORDS[code]
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", code.replace("_", " ")).strip().lower()
    return spaced[:1].upper() + spaced[1:]


def reason_label(code: str) -> str:
    """"Customer changed mind (CustomerChangedMind)"; a code that is already words stands alone."""
    words = reason_words(code)
    return words if words == code else f"{words} ({code})"


def cancel_reason_label(key: str, channels: tuple[str, ...]) -> str:
    """A cancel reason the grid offers (a key each channel translates, channels.capabilities) as
    its words with what each of `channels` is sent: "Out of stock (SELLER_CANCEL_OUT_OF_STOCK)",
    or, for both channels, "Out of stock (Walmart SELLER_CANCEL_OUT_OF_STOCK, Amazon NoInventory)"."""
    codes = [(channel, rules_for(channel).cancel_reason(key)) for channel in channels]
    if len(codes) == 1:
        return reason_label(codes[0][1])
    words = reason_words(codes[0][1])
    return f"{words} ({', '.join(f'{Channel(channel).label} {code}' for channel, code in codes)})"
