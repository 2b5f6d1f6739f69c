from decimal import Decimal

from django import forms

from channels.capabilities import rules_for
from channels.models import Channel

from .rules import MemoInput, creditable_qty

MONEY = {"max_digits": 12, "decimal_places": 2, "min_value": Decimal("0")}


class CreditMemoForm(forms.Form):
    """The credit memo form: a quantity per line, refund totals, reason and restock. The rules that
    decide what it does live in creditmemos.rules; this only collects the operator's input."""

    shipping_refund = forms.DecimalField(label="Refund shipping", **MONEY)
    adjustment_refund = forms.DecimalField(label="Adjustment refund", initial=Decimal("0"), **MONEY)
    adjustment_fee = forms.DecimalField(label="Adjustment fee", initial=Decimal("0"), **MONEY)
    restock = forms.BooleanField(label="Update Qty's (return refunded items to stock)", required=False)
    refund_reason = forms.ChoiceField(label="Refund reason")
    comment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, order, items, defaults: MemoInput, **kwargs):
        super().__init__(*args, **kwargs)
        self.order, self.items = order, items
        rules = rules_for(order.channel)
        full_only = order.adjustment_fee > 0
        for item in items:
            self.fields[self.qty_field(item)] = forms.IntegerField(
                min_value=0,
                max_value=creditable_qty(item),
                initial=defaults.quantities.get(item.pk, 0),
                label=item.sku,
                disabled=full_only,
            )
        self.fields["shipping_refund"].initial = defaults.shipping_refund
        self.fields["refund_reason"].choices = [(reason, reason) for reason in rules.refund_reasons]
        self.fields["refund_reason"].initial = rules.default_refund_reason
        if order.channel == Channel.AMAZON:
            self.fields["refund_reason"].disabled = True
            self.fields["refund_reason"].help_text = ("Amazon: NoInventory for an Unshipped order, CustomerReturn for a "
                                                      "Shipped one (R-CM-3).")
        if full_only:
            self.fields["shipping_refund"].disabled = True
            self.full_only_note = (f"This order has an adjustment fee ({order.adjustment_fee} {order.currency}): it "
                                   "cannot be refunded partially, so the memo credits everything (R-CM-7).")
        else:
            self.full_only_note = ""

    @staticmethod
    def qty_field(item) -> str:
        return f"qty_{item.pk}"

    def item_rows(self):
        return [(item, self[self.qty_field(item)], creditable_qty(item)) for item in self.items]

    def to_input(self) -> MemoInput:
        data = self.cleaned_data
        return MemoInput(
            quantities={item.pk: data.get(self.qty_field(item)) or 0 for item in self.items},
            shipping_refund=data.get("shipping_refund") or Decimal("0"),
            adjustment_refund=data.get("adjustment_refund") or Decimal("0"),
            adjustment_fee=data.get("adjustment_fee") or Decimal("0"),
            restock=bool(data.get("restock")),
            refund_reason=data.get("refund_reason") or "",
            comment=data.get("comment") or "",
        )
