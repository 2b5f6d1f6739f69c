from django import forms

from channels.capabilities import rules_for
from channels.models import Channel
from channels.reasons import cancel_reason_label, reason_label

from .services.errors import OrderActionRefused
from .services.tracking import Tracking, carrier_choices, validate_tracking

SHIPPING_METHODS = ["Standard", "Express", "OneDay", "Freight", "WhiteGlove", "Value"]
OTHER_CARRIER = "other"


class ShipForm(forms.Form):
    """Mark as Shipped: carrier and tracking number, checked by the one tracking check (R-SHIP-1).
    Used for one order and for a grid selection; on many orders one tracking number needs an
    explicit confirmation (a pallet or a consolidated package), per-order numbers go through the
    tracking CSV upload."""

    carrier = forms.ChoiceField()
    other_carrier = forms.CharField(required=False, max_length=64, label="Other carrier name")
    method = forms.ChoiceField(choices=[(m, m) for m in SHIPPING_METHODS], initial="Standard", label="Shipping method")
    tracking_number = forms.CharField(max_length=128)
    tracking_url = forms.CharField(required=False, max_length=500, label="Tracking URL",
                                   help_text="Needed for another carrier: an http:// or https:// address.")

    def __init__(self, *args, channels: tuple[str, ...] = (), usual_carrier: str = "", order_count: int = 1,
                 cancel_requests: int = 0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.channels = tuple(channels)
        carriers = carrier_choices(channels[0] if len(channels) == 1 else None)
        self.fields["carrier"].choices = [(c, c) for c in carriers] + [(OTHER_CARRIER, "Other (name it below)")]
        if usual_carrier in carriers:
            self.fields["carrier"].initial = usual_carrier
        self.order_count = order_count
        if order_count > 1:
            self.fields["same_tracking_confirmed"] = forms.BooleanField(
                label=f"Yes, all {order_count} orders travel under this one tracking number",
                help_text="One tracking number on many orders is only right for one consolidated package or "
                "pallet. To give each order its own number, use Upload tracking (CSV) on the order list.",
                error_messages={"required": f"Confirm that all {order_count} orders share this tracking number, "
                                "or upload a tracking CSV with a number per order."},
            )
        if cancel_requests:
            self.fields["despite_cancel_request"] = forms.BooleanField(
                required=False,
                label="Ship even though the buyer asked to cancel" if order_count == 1 else
                f"Also ship the {cancel_requests} order(s) whose buyer asked to cancel",
                help_text="Left unticked, nothing is shipped: cancel the order as the buyer asked instead." if
                order_count == 1 else "Left unticked, orders with a cancellation request are not shipped (skipped "
                "and counted).",
            )

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        if cleaned.get("carrier") == OTHER_CARRIER and not cleaned.get("other_carrier", "").strip():
            self.add_error("other_carrier", "Name the carrier.")
            return cleaned
        if cleaned.get("carrier") == OTHER_CARRIER and not cleaned.get("tracking_url", "").strip():
            self.add_error("tracking_url", "Another carrier needs a tracking URL (http:// or https://).")
            return cleaned
        tracking = tracking_from_params(self.to_params())
        for channel in self.channels:
            try:
                tracking = validate_tracking(channel=channel, tracking=tracking)
            except OrderActionRefused as refusal:
                field = "tracking_url" if "URL" in refusal.reason else "tracking_number"
                self.add_error(field, refusal_sentence(refusal))
                return cleaned
        self.tracking = tracking
        return cleaned

    def to_params(self) -> dict:
        data = self.cleaned_data
        carrier = data["other_carrier"] if data["carrier"] == OTHER_CARRIER else data["carrier"]
        return {"carrier": carrier.strip(), "method": data.get("method") or "Standard", "tracking_number": data["tracking_number"].strip(),
                "tracking_url": (data.get("tracking_url") or "").strip(),
                "despite_cancel_request": bool(data.get("despite_cancel_request"))}


class OrderShipForm(ShipForm):
    """Mark as Shipped on one order: a quantity per open line, all open units by default (R-SHIP-2)."""

    def __init__(self, *args, order, items, initial_quantities: dict[int, int] | None = None, **kwargs) -> None:
        super().__init__(*args, channels=(order.channel,), cancel_requests=int(order.buyer_cancel_requested), **kwargs)
        self.open_items = [item for item in items if item.qty_open > 0]
        for item in self.open_items:
            wanted = item.qty_open if initial_quantities is None else initial_quantities.get(item.pk, 0)
            self.fields[self.qty_field(item)] = forms.IntegerField(
                min_value=0, max_value=item.qty_open, initial=min(max(wanted, 0), item.qty_open),
                label=f"{item.sku} (open {item.qty_open})",
                error_messages={"max_value": f"{item.sku}: at most {item.qty_open} unit(s) are open."},
            )

    @staticmethod
    def qty_field(item) -> str:
        return f"qty_{item.pk}"

    def item_rows(self):
        return [(item, self[self.qty_field(item)]) for item in self.open_items]

    def tracking_fields(self):
        return [self[name] for name in self.fields if not name.startswith("qty_")]

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not any(cleaned.get(self.qty_field(item)) for item in self.open_items):
            raise forms.ValidationError("Choose at least one unit to ship.")
        return cleaned

    def quantities(self) -> dict[int, int]:
        return {item.pk: self.cleaned_data[self.qty_field(item)] for item in self.open_items
                if self.cleaned_data.get(self.qty_field(item))}


class OrderCancelForm(forms.Form):
    """Cancel on one order's page: the whole order, every open unit (as the grid's bulk Cancel), with
    the reason from the channel's own list, its words with its code beside them. Nothing is
    preselected: the operator chooses. What is sent is decided by the service
    (orders.services.cancel.cancel_plan), which the confirmation shows before anything is sent."""

    reason = forms.ChoiceField(label="Cancellation reason")

    def __init__(self, *args, order, items, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        rules = rules_for(order.channel)
        self.open_items = [item for item in items if item.qty_open > 0]
        self.fields["reason"].choices = [("", "— choose the reason —")] + [
            (code, reason_label(code)) for code in rules.cancel_reasons]
        asked = [item.sku for item in self.open_items if item.buyer_cancel_requested]
        buyers = f"“{reason_label(rules.buyer_cancel_reason)}”"
        if asked and len(asked) == len(self.open_items):
            self.fields["reason"].help_text = (
                f"The buyer asked to cancel this order: cancel it with {buyers}; any other reason counts against you.")
        elif asked:
            self.fields["reason"].help_text = (
                f"The buyer asked to cancel only {', '.join(asked)}, so {buyers} cannot cancel the whole order; "
                "cancel those units alone with a credit memo.")


def refusal_sentence(refusal: OrderActionRefused) -> str:
    text = str(refusal)
    return f"{text[:1].upper()}{text[1:]}."


def tracking_from_params(params: dict) -> Tracking:
    return Tracking(carrier=params["carrier"], tracking_number=params["tracking_number"],
                    method=params.get("method", "Standard"), tracking_url=params.get("tracking_url", ""))


BUYER_REQUESTED = "buyer_requested"  # the cancel reason key of a buyer's request


class CancelForm(forms.Form):
    """R-CAN-1: a reason is required; it is translated to each channel's own value, which is shown
    beside its words (channels.reasons, the style of every reason an operator reads)."""

    reason = forms.ChoiceField()

    def __init__(self, *args, channels: tuple[str, ...] = (), order_count: int = 0, cancel_requests: int = 0,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        channels = tuple(channels) or tuple(Channel.values)
        keys = [key for key, _ in rules_for(channels[0]).cancel_reason_by_key]
        self.fields["reason"].choices = [(key, cancel_reason_label(key, channels)) for key in keys]
        if cancel_requests and cancel_requests == order_count:
            self.fields["reason"].initial = BUYER_REQUESTED
        elif cancel_requests:
            self.fields["reason"].help_text = (
                f"The buyer asked to cancel {cancel_requests} of these {order_count} orders. Cancel those on their own "
                f"with “{cancel_reason_label(BUYER_REQUESTED, channels)}”: any other reason counts against you.")

    def to_params(self) -> dict:
        return {"reason": self.cleaned_data["reason"]}
