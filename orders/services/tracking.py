"""The one check of a shipment's tracking (R-SHIP-1), used by every path that records or changes
one: the ship form, the grid's bulk ship, the CSV tracking upload and shipment corrections.

Carrier formats come from the `tracking-numbers` package (the shared tracking_number_data
patterns with their check digits), so a typo in a UPS or FedEx number is caught before it reaches
the channel."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field

import tracking_numbers
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from channels.capabilities import rules_for

from .errors import OrderActionRefused

MIN_LENGTH, MAX_LENGTH = 5, 40
OTHER = "Other"

# Carrier as chosen → the couriers of tracking_numbers whose formats it uses, and an example.
CARRIER_FORMATS: dict[str, tuple[frozenset[str], str]] = {
    "UPS": (frozenset({"ups"}), "1Z followed by 16 letters and digits, e.g. 1Z999AA10123456784"),
    "USPS": (frozenset({"usps", "s10"}), "20–34 digits starting with 9 (e.g. 9400111899223100000000) "
                                         "or an international number like LZ123456785US"),
    "FedEx": (frozenset({"fedex"}), "12, 15, 20 or 22 digits, e.g. 123456789012"),
    "FDX": (frozenset({"fedex"}), "12, 15, 20 or 22 digits, e.g. 123456789012"),
    "FEDEXSP": (frozenset({"fedex"}), "20 or 22 digits, e.g. 61299995669352455464"),
    "DHL": (frozenset({"dhl"}), "10 digits, e.g. 3318810025"),
    "OnTrac": (frozenset({"ontrac"}), "C or D followed by 14 digits"),
}


@dataclass(frozen=True)
class Tracking:
    carrier: str
    tracking_number: str
    method: str = "Standard"
    tracking_url: str = ""
    shipped_at: dt.datetime | None = None
    extra: dict = field(default_factory=dict)


def carrier_choices(channel: str | None = None) -> list[str]:
    """Carriers an operator picks from: the channel's own list (all channels' for a mixed
    selection), each once, "Other" last."""
    from channels.capabilities import RULES

    lists = [rules_for(channel).carriers] if channel else [rules.carriers for rules in RULES.values()]
    seen: dict[str, None] = {}
    for carriers in lists:
        for carrier in carriers:
            if carrier.casefold() != OTHER.casefold():
                seen.setdefault(carrier)
    return list(seen)


def is_known_carrier(*, channel: str, carrier: str) -> bool:
    return carrier in carrier_choices(channel)


def _as_listed(value: str, listed) -> str:
    """`value` written as the list writes it ("ups" → "UPS"), or as it is when the list lacks it."""
    return next((known for known in listed if known.casefold() == value.casefold()), value)


def validate_tracking(*, channel: str, tracking: Tracking) -> Tracking:
    """The tracking cleaned (surrounding spaces gone), or OrderActionRefused with the problem in
    plain words. Nothing is queued before this passes."""
    rules = rules_for(channel)
    carrier = _as_listed(" ".join(tracking.carrier.split()), carrier_choices(channel))
    number = tracking.tracking_number.strip()
    url = tracking.tracking_url.strip()
    method = " ".join(tracking.method.split()) or "Standard"
    if rules.shipping_methods:
        method = _as_listed(method, rules.shipping_methods)
        if method not in rules.shipping_methods:
            raise OrderActionRefused("shipping method is not valid",
                                     f"{method!r} is not one of {', '.join(rules.shipping_methods)}")
    if not carrier:
        raise OrderActionRefused("carrier is required")
    if not carrier.isprintable() or len(carrier) > 64:
        raise OrderActionRefused("carrier name is not valid", "use up to 64 printable characters")
    if not number:
        if rules.requires_tracking:
            raise OrderActionRefused("tracking number is required", "the channel rejects shipments without one")
    else:
        number = _checked_number(carrier, number)
    if url:
        if len(url) > 500:
            raise OrderActionRefused("tracking URL is not valid", "it is longer than 500 characters")
        try:
            URLValidator(schemes=["http", "https"])(url)
        except ValidationError:
            raise OrderActionRefused("tracking URL is not valid", "it must be an http:// or https:// address") from None
    if not is_known_carrier(channel=channel, carrier=carrier) and not url:
        raise OrderActionRefused("tracking URL is required for a carrier the channel does not know", carrier)
    return dataclasses.replace(tracking, carrier=carrier, tracking_number=number, tracking_url=url, method=method)


def _checked_number(carrier: str, number: str) -> str:
    """The number as the channel gets it: a major carrier's written without the spaces and dashes
    people copy from labels (carriers' own systems print and read it so)."""
    if not number.isprintable():
        raise OrderActionRefused("tracking number is not valid", "it contains control or invisible characters")
    compact = number.replace(" ", "")
    problems = []  # every one at once: "!!!" is both too short and not letters or digits
    if not MIN_LENGTH <= len(number) <= MAX_LENGTH:
        problems.append(f"it must be {MIN_LENGTH} to {MAX_LENGTH} characters long, not {len(number)}")
    if not compact.isascii() or not compact.replace("-", "").isalnum():
        problems.append("use letters, digits, spaces and dashes only")
    if problems:
        raise OrderActionRefused("tracking number is not valid", "; ".join(problems))
    expected = CARRIER_FORMATS.get(carrier)
    if expected is None:
        return number
    couriers, example = expected
    plain = compact.replace("-", "").upper()
    shaped = [found for definition in tracking_numbers.DEFINITIONS if (found := definition.test(plain))
              and found.courier.code in couriers]
    if shaped and not any(found.valid for found in shaped):
        raise OrderActionRefused(f"not a valid {carrier} tracking number",
                                 f"{number!r} has {carrier}'s format but its check digit does not match; "
                                 "check for a typo")
    if not shaped:
        raise OrderActionRefused(f"not a {carrier} tracking number",
                                 f"{number!r} does not match {carrier}'s format ({example}); check for a typo "
                                 "or choose the right carrier")
    return plain
