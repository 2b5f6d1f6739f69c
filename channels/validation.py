"""Reading channel values on their own terms: helpers the parsers use to read a field or refuse it
in plain words, and the checks every parsed order passes before it may be stored (issue 8 §1).

A refusal raises `OrderUnreadable`; the importer keeps that order aside as an import problem and
imports the rest. Values that can be read but are wrong (no units, absurd amounts, an unknown
currency) are refused too: silently clamping them would store an order that is not what the buyer
bought."""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from .clients import ChannelOrder, OrderUnreadable, UnreadableOrder

logger = logging.getLogger("channels.validation")

ID_MAX_LENGTH = 64  # Order.channel_order_id / customer_order_id / OrderItem.channel_line_id
MAX_LINE_QTY = 100_000
MAX_AMOUNT = Decimal("1000000")  # one unit price, tax or shipping charge
MAX_ORDER_TOTAL = Decimal("9999999999.99")  # what the 12-digit money columns hold
ISO_4217 = frozenset("""
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD CAD CDF
CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD
HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD
MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN
PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY
TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWL
""".split())


def read_or_set_aside(read: Callable[[], ChannelOrder], raw: Any, order_id: Any) -> ChannelOrder | UnreadableOrder:
    """`read()`'s order, or the order set aside with the reason it could not be read. A shape no check
    foresaw (a TypeError deep in a parser) is set aside too: one order must never sink its page."""
    try:
        return read()
    except OrderUnreadable as unreadable:
        reason = str(unreadable)
    except (TypeError, ValueError, KeyError, AttributeError, ArithmeticError) as unexpected:
        logger.warning("channel order could not be parsed", exc_info=True)
        reason = f"the order could not be read ({type(unexpected).__name__}: {_show(str(unexpected))})"
    return UnreadableOrder(channel_order_id=str(order_id) if isinstance(order_id, (str, int)) else "", raw=raw,
                           reason=reason)


def whole_number(value: Any, what: str) -> int:
    """An integer, or a string of digits (Walmart sends quantities as strings)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise OrderUnreadable(f"{what} {_show(value)} is not a whole number")
    try:
        return int(value)
    except ValueError:
        raise OrderUnreadable(f"{what} {_show(value)} is not a whole number") from None


def amount(value: Any, what: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise OrderUnreadable(f"{what} {_show(value)} is not an amount")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise OrderUnreadable(f"{what} {_show(value)} is not an amount") from None
    if not number.is_finite():
        raise OrderUnreadable(f"{what} {_show(value)} is not an amount")
    return number


def mapping(value: Any, what: str) -> dict:
    """An object that may be absent (null) but must not be anything else."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise OrderUnreadable(f"{what} is {_kind(value)}, not an object")
    return value


def sequence(value: Any, what: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise OrderUnreadable(f"{what} is {_kind(value)}, not a list")
    return value


def required_id(value: Any, what: str) -> str:
    if value is None or value == "":
        raise OrderUnreadable(f"{what} is missing")
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise OrderUnreadable(f"{what} is {_kind(value)}, not an id")
    return str(value)


def check_order(order: ChannelOrder) -> ChannelOrder:
    """Refuse an order whose values cannot be stored as they are; returns it when they can. Text
    PostgreSQL cannot hold is not looked for here (it costs as much as parsing): the store refuses
    it and `unstorable_text` then names it."""
    _check_id(order.channel_order_id, "the order id")
    if len(order.customer_order_id) > ID_MAX_LENGTH:
        raise OrderUnreadable(f"the customer order id is longer than {ID_MAX_LENGTH} characters")
    if order.sale_date is None:
        raise OrderUnreadable("the order date is missing")
    if order.currency not in ISO_4217:
        raise OrderUnreadable(f"the currency {_show(order.currency)} is not a known currency code")
    if not order.lines:
        raise OrderUnreadable("the order has no lines")
    total = Decimal("0")
    seen: set[str] = set()
    for line in order.lines:
        where = f"line {line.line_id}"
        _check_id(line.line_id, "a line number")
        for number in line.line_numbers:
            if number in seen:
                raise OrderUnreadable(f"line number {number} appears twice")
            seen.add(number)
        if not 1 <= line.qty_ordered <= MAX_LINE_QTY:
            raise OrderUnreadable(f"{where}: quantity {line.qty_ordered} is not between 1 and {MAX_LINE_QTY:,}")
        if min(line.qty_shipped, line.qty_canceled) < 0:
            raise OrderUnreadable(f"{where}: a shipped or canceled quantity is negative")
        if line.qty_shipped + line.qty_canceled > line.qty_ordered:
            raise OrderUnreadable(f"{where}: {line.qty_shipped} shipped and {line.qty_canceled} canceled are more "
                                  f"than the {line.qty_ordered} ordered")
        for what, value in (("unit price", line.unit_price), ("tax", line.tax), ("shipping", line.shipping_charge),
                            ("refunded amount", line.refunded_amount)):
            if value < 0:
                raise OrderUnreadable(f"{where}: the {what} {value} is negative")
            if value > MAX_AMOUNT:
                raise OrderUnreadable(f"{where}: the {what} {value} is more than {MAX_AMOUNT:,}")
        charged = line.unit_price * line.qty_ordered + line.tax + line.shipping_charge
        if line.refunded_amount > charged:
            raise OrderUnreadable(f"{where}: refunded {line.refunded_amount}, more than the {charged} charged")
        total += charged
    if total > MAX_ORDER_TOTAL:
        raise OrderUnreadable(f"the order total {total} is more than {MAX_ORDER_TOTAL:,}")
    return order


def _check_id(value: str, what: str) -> None:
    if not value:
        raise OrderUnreadable(f"{what} is missing")
    if len(value) > ID_MAX_LENGTH:
        raise OrderUnreadable(f"{what} is longer than {ID_MAX_LENGTH} characters")


def unstorable_text(value: Any) -> str:
    """Why the channel's data cannot be stored as text, or "": PostgreSQL holds neither a NUL
    character nor a lone surrogate, in text or JSON."""
    try:
        _find_bad_text(value, "the order")
    except OrderUnreadable as unreadable:
        return str(unreadable)
    return ""


def _find_bad_text(value: Any, where: str) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _find_bad_text(key, where)
            _find_bad_text(item, f"{where}.{key}" if where != "the order" else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _find_bad_text(item, f"{where}[{index}]")
    elif isinstance(value, str):
        if "\x00" in value:
            raise OrderUnreadable(f"the text of {where} contains a NUL character")
        if any("\ud800" <= char <= "\udfff" for char in value):
            raise OrderUnreadable(f"the text of {where} contains an invalid character (a lone surrogate)")


def _kind(value: Any) -> str:
    return {type(None): "null", str: "a text", list: "a list", dict: "an object", bool: "true/false"}.get(
        type(value), "a number")


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "…"
