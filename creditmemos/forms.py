from dataclasses import dataclass, replace
from decimal import Decimal

from django import forms

from channels.capabilities import rules_for
from channels.models import Channel
from channels.reasons import reason_label
from orders.models import OrderStatus

from .models import CreditMemo
from .rules import (AMAZON_SHIPPED_REFUND_REASON, AMAZON_UNSHIPPED_REFUND_REASON, CANCEL, REFUND, MemoInput,
                    MemoPlan, creditable_qty, credits_first, refunds_units)

MONEY = {"max_digits": 12, "decimal_places": 2, "min_value": Decimal("0")}
KEPT_REASON = "kept_refund_reason"  # the reason chosen, carried while the memo refunds nothing


class CreditMemoForm(forms.Form):
    """The credit memo form: a quantity per line, refund totals, reason and restock. The rules that
    decide what it does live in creditmemos.rules; this only collects the operator's input.

    The shipping refund follows the credited units (`derived_shipping` remembers the amount last
    derived): until the operator types another amount, changing a quantity re-derives it."""

    shipping_refund = forms.DecimalField(label="Refund shipping", **MONEY)
    derived_shipping = forms.DecimalField(required=False, widget=forms.HiddenInput, **MONEY)
    # Set by the page's script once the operator types in the shipping field: an amount typed equal
    # to the one last derived is still the operator's.
    shipping_typed = forms.BooleanField(required=False, widget=forms.HiddenInput)
    adjustment_refund = forms.DecimalField(label="Adjustment refund", initial=Decimal("0"), **MONEY)
    adjustment_fee = forms.DecimalField(label="Adjustment fee", initial=Decimal("0"), **MONEY)
    restock = forms.BooleanField(label="Update Qty's (return refunded items to stock)", required=False)
    refund_reason = forms.ChoiceField(label="Refund reason", required=False)
    comment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, order, items, defaults: MemoInput, **kwargs):
        super().__init__(*args, **kwargs)
        self.order, self.items = order, items
        self.shipping_rederived_from: Decimal | None = None
        rules = rules_for(order.channel)
        full_only = order.adjustment_fee > 0
        for item in items:
            self.fields[self.qty_field(item)] = forms.IntegerField(
                min_value=0,
                max_value=creditable_qty(item),
                initial=defaults.quantities.get(item.pk, 0),
                label=item.sku,
                disabled=full_only,
                error_messages={"max_value": f"At most {creditable_qty(item)} unit(s) can be credited on this line."},
            )
            if self.partly_shipped(item):
                self.fields[self.first_field(item)] = forms.ChoiceField(
                    label=f"{item.sku}: credit first",
                    choices=[(REFUND, "shipped units (refund)"), (CANCEL, "unshipped units (cancel)")],
                    initial=credits_first(item),
                    disabled=full_only,
                )
        self.fields["shipping_refund"].initial = defaults.shipping_refund
        self.fields["derived_shipping"].initial = defaults.shipping_refund
        self.fields["shipping_refund"].help_text = ("Follows the refunded units until you type another amount.")
        # A refund reason is a field wherever shipped units could be refunded (Walmart; Amazon's is
        # fixed). It is asked only when the quantities entered refund some (asks_reason), so it is
        # decided again on every "Update totals".
        may_refund = any(item.qty_shipped > item.qty_refunded for item in items)
        self.reason_note = ""
        self.reason_was_asked = self.add_prefix("refund_reason") in self.data
        if order.channel == Channel.AMAZON or not may_refund:
            del self.fields["refund_reason"]
            if order.channel == Channel.AMAZON and may_refund:
                reason = (AMAZON_UNSHIPPED_REFUND_REASON if order.status == OrderStatus.UNSHIPPED
                          else AMAZON_SHIPPED_REFUND_REASON)
                self.reason_note = (f"Refund reason: {reason_label(reason)}. Amazon takes "
                                    f"{reason_label(AMAZON_UNSHIPPED_REFUND_REASON)} for Unshipped orders and "
                                    f"{reason_label(AMAZON_SHIPPED_REFUND_REASON)} for Shipped ones.")
        else:
            self.fields["refund_reason"].choices = [(reason, reason_label(reason)) for reason in rules.refund_reasons]
            self.fields["refund_reason"].initial = rules.default_refund_reason
            if self.is_bound and not self.reason_was_asked:
                # Shown from now on with the reason chosen before the field was hidden (kept while
                # no unit was refunded), else the usual one; still to be confirmed before saving.
                kept = self.data.get(self.add_prefix(KEPT_REASON))
                self.data = self.data.copy()
                self.data[self.add_prefix("refund_reason")] = (kept if kept in rules.refund_reasons
                                                               else rules.default_refund_reason)
        if full_only:
            self.fields["shipping_refund"].disabled = True
            self.full_only_note = (f"This order has an adjustment fee ({order.adjustment_fee} {order.currency}): it "
                                   "cannot be refunded partially, so the memo credits everything.")
        else:
            self.full_only_note = ""

    @staticmethod
    def qty_field(item) -> str:
        return f"qty_{item.pk}"

    @staticmethod
    def first_field(item) -> str:
        return f"first_{item.pk}"

    @staticmethod
    def partly_shipped(item) -> bool:
        """A line with units to refund (shipped) and units to cancel (unshipped): the operator says
        which a memo credits first."""
        return item.qty_open > 0 and item.qty_shipped > item.qty_refunded

    def entered_credit_first(self) -> dict[int, str]:
        """Which units each partly shipped line credits first, as chosen (the line's default before
        anything is chosen)."""
        choices = {}
        for item in self.items:
            if self.partly_shipped(item):
                field = self.fields[self.first_field(item)]
                entered = field.initial if field.disabled or not self.is_bound else self.data.get(
                    self.add_prefix(self.first_field(item)))
                choices[item.pk] = entered if entered in (CANCEL, REFUND) else field.initial
        return choices

    def entered_quantities(self) -> dict[int, int]:
        """The units to credit per line as entered (unreadable entries count as none); the defaults
        before anything is entered."""
        quantities = {}
        for item in self.items:
            field = self.fields[self.qty_field(item)]
            entered = field.initial if field.disabled or not self.is_bound else self.data.get(
                self.add_prefix(self.qty_field(item)))
            try:
                quantities[item.pk] = int(entered or 0)
            except (TypeError, ValueError):
                quantities[item.pk] = 0
        return quantities

    @property
    def asks_reason(self) -> bool:
        """Whether the entries refund something — shipped units, shipping or an adjustment: only then is
        a refund reason asked (the channel is sent it with the refund)."""
        return refunds_units(self.items, MemoInput(quantities=self.entered_quantities(),
                                                   credit_first=self.entered_credit_first())) or \
            any(self._entered_amount(name) > 0 for name in ("shipping_refund", "adjustment_refund"))

    def _entered_amount(self, name: str) -> Decimal:
        entered = self.data.get(self.add_prefix(name)) if self.is_bound else self.fields[name].initial
        try:
            return Decimal(str(entered or 0))
        except ArithmeticError:
            return Decimal("0")

    def clean(self):
        cleaned = super().clean()
        if "refund_reason" in self.fields and "_save" in self.data and self.asks_reason and not self.reason_was_asked:
            self.add_error("refund_reason", "This memo refunds money: choose the refund reason.")
        return cleaned

    def kept_reason_field(self) -> str:
        return self.add_prefix(KEPT_REASON)

    def item_rows(self):
        return [(item, self[self.qty_field(item)], creditable_qty(item),
                 self[self.first_field(item)] if self.partly_shipped(item) else None) for item in self.items]

    def other_fields(self):
        return [field for field in self if not field.name.startswith(("qty_", "first_")) and not field.is_hidden]

    def to_input(self) -> MemoInput:
        data = self.cleaned_data
        return MemoInput(
            quantities={item.pk: data.get(self.qty_field(item)) or 0 for item in self.items},
            credit_first={item.pk: data[self.first_field(item)] for item in self.items if self.partly_shipped(item)},
            shipping_refund=data.get("shipping_refund") or Decimal("0"),
            adjustment_refund=data.get("adjustment_refund") or Decimal("0"),
            adjustment_fee=data.get("adjustment_fee") or Decimal("0"),
            restock=bool(data.get("restock")),
            refund_reason=data.get("refund_reason") or "",
            comment=data.get("comment") or "",
        )

    def follow_units(self, memo: MemoInput, derived: Decimal) -> MemoInput:
        """The memo with the shipping re-derived from its units unless the operator overrode it;
        the form shows the amounts used from now on."""
        data = self.cleaned_data
        overridden = (data.get("shipping_typed") or data.get("derived_shipping") is None
                      or data["shipping_refund"] != data["derived_shipping"])
        shipping = memo.shipping_refund if overridden else derived
        # What the page showed is not what the units now give: saved as shown, it would refund another amount.
        self.shipping_rederived_from = None if shipping == memo.shipping_refund else memo.shipping_refund
        self.data = self.data.copy()
        self.data[self.add_prefix("shipping_refund")] = str(shipping)
        self.data[self.add_prefix("derived_shipping")] = str(derived)
        return replace(memo, shipping_refund=shipping)


@dataclass(frozen=True)
class PreviewLine:
    action: str
    sku: str
    qty: int
    reason: str
    price: Decimal
    tax: Decimal
    shipping: Decimal

    @property
    def total(self) -> Decimal:
        return self.price + self.tax + self.shipping


@dataclass(frozen=True)
class Preview:
    """The memo's lines and totals as the form shows them; they add up to the plan's grand total
    (the adjustments are shown once, in the totals, not folded into a line)."""

    lines: list[PreviewLine]
    items: Decimal
    shipping: Decimal
    adjustment_refund: Decimal
    adjustment_fee: Decimal
    grand_total: Decimal
    channel_action: str


def memo_preview(plan: MemoPlan) -> Preview:
    lines = [PreviewLine(line.action, line.item.sku, line.qty, reason_label(line.reason),
                         line.item.unit_price * line.qty, line.tax, line.shipping) for line in plan.lines]
    return Preview(
        lines=lines,
        items=sum((line.price + line.tax for line in lines), Decimal("0")),
        shipping=sum((line.shipping for line in lines), Decimal("0")),
        adjustment_refund=plan.adjustment_refund,
        adjustment_fee=plan.adjustment_fee,
        grand_total=plan.grand_total,
        channel_action=CreditMemo.ChannelAction(plan.channel_action).label,
    )
