from django import forms

from channels.capabilities import RULES, WALMART_CARRIERS

from .services.shipments import Tracking

CARRIERS = sorted({carrier for rules in RULES.values() for carrier in rules.carriers} | set(WALMART_CARRIERS))
SHIPPING_METHODS = ["Standard", "Express", "OneDay", "Freight", "WhiteGlove", "Value"]


class ShipForm(forms.Form):
    """Mark as Shipped: Walmart needs a carrier and a tracking number on every shipment (R-SHIP-1)."""

    carrier = forms.ChoiceField(choices=[(c, c) for c in CARRIERS] + [("other", "Other (name it below)")])
    other_carrier = forms.CharField(required=False, max_length=64, label="Other carrier name")
    method = forms.ChoiceField(choices=[(m, m) for m in SHIPPING_METHODS], initial="Standard", label="Shipping method")
    tracking_number = forms.CharField(max_length=128)
    tracking_url = forms.URLField(required=False, assume_scheme="https", max_length=500, label="Tracking URL")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("carrier") == "other":
            if not cleaned.get("other_carrier"):
                self.add_error("other_carrier", "Name the carrier.")
            if not cleaned.get("tracking_url"):
                self.add_error("tracking_url", "A tracking URL is required for another carrier.")
        return cleaned

    def to_params(self) -> dict:
        data = self.cleaned_data
        carrier = data["other_carrier"] if data["carrier"] == "other" else data["carrier"]
        return {"carrier": carrier, "method": data["method"], "tracking_number": data["tracking_number"],
                "tracking_url": data.get("tracking_url") or ""}


def tracking_from_params(params: dict) -> Tracking:
    return Tracking(carrier=params["carrier"], tracking_number=params["tracking_number"],
                    method=params.get("method", "Standard"), tracking_url=params.get("tracking_url", ""))


class CancelForm(forms.Form):
    """R-CAN-1: a reason is required; it is translated to each channel's own value."""

    reason = forms.ChoiceField(choices=[
        ("out_of_stock", "Out of stock"),
        ("pricing_error", "Pricing error"),
        ("fraud", "Fraud / stop shipment"),
        ("address_undeliverable", "Address not serviceable"),
        ("buyer_requested", "Buyer requested cancellation"),
    ])

    def to_params(self) -> dict:
        return {"reason": self.cleaned_data["reason"]}
