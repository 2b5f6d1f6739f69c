from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from orders.models import Order, OrderItem


class CreditMemo(models.Model):
    """An operator's credit for an order; its rules and submission live in creditmemos.services."""

    class State(models.TextChoices):
        LOCAL = "local", "Local only"  # R-ACC-3 off: nothing sent to the channel
        PENDING = "pending", "Pending"
        SUBMITTED = "submitted", "Submitted"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class ChannelAction(models.TextChoices):
        NONE = "none", "None"
        CANCEL = "cancel", "Cancel"
        REFUND = "refund", "Refund"
        CANCEL_AND_REFUND = "cancel_and_refund", "Cancel and refund"

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="credit_memos")
    state = models.CharField(max_length=12, choices=State.choices, default=State.PENDING)
    channel_action = models.CharField(max_length=20, choices=ChannelAction.choices, default=ChannelAction.NONE)
    reason = models.CharField(max_length=64, help_text="The channel's reason value sent with the cancel/refund.")
    comment = models.TextField(blank=True)
    restock = models.BooleanField("Update Qty's", default=False, help_text="Return the refunded units to stock.")  # R-CM-8

    items_total = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    shipping_refund = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    # The part of shipping_refund that canceled units credit (the cancellation returns it): the rest
    # is shipping refunded, and cancellations are counted from the items' canceled units.
    canceled_shipping = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    adjustment_refund = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    adjustment_fee = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    grand_total = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))

    channel_actions = models.ManyToManyField("orders.ChannelAction", blank=True, related_name="credit_memos")
    channel_reference = models.CharField(max_length=128, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(items_total__gte=0)
                & Q(shipping_refund__gte=0)
                & Q(canceled_shipping__gte=0)
                & Q(canceled_shipping__lte=F("shipping_refund"))
                & Q(adjustment_refund__gte=0)
                & Q(adjustment_fee__gte=0)
                & Q(grand_total__gte=0),
                name="credit_memo_money_non_negative",
            ),
        ]
        indexes = [
            models.Index(fields=["order", "state"], name="credit_memo_order_state_idx"),
            # The list's order, newest first: without it every memo was sorted for a page (0.2 s at 10,000).
            models.Index(F("created_at").desc(), F("id").desc(), name="credit_memo_created_idx"),
        ]

    def __str__(self) -> str:
        return f"Credit memo {self.pk} for {self.order}"


class CreditMemoItem(models.Model):
    class Action(models.TextChoices):
        CANCEL = "cancel", "Cancel"  # unshipped units
        REFUND = "refund", "Refund"  # shipped units

    credit_memo = models.ForeignKey(CreditMemo, on_delete=models.CASCADE, related_name="items")
    order_item = models.ForeignKey(OrderItem, on_delete=models.PROTECT, related_name="credit_memo_items")
    action = models.CharField(max_length=8, choices=Action.choices)
    qty = models.PositiveIntegerField()
    amount = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    tax = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(qty__gt=0), name="credit_memo_item_qty_positive"),
            models.CheckConstraint(condition=Q(amount__gte=0) & Q(tax__gte=0), name="credit_memo_item_money_non_negative"),
            models.UniqueConstraint(fields=["credit_memo", "order_item", "action"], name="credit_memo_item_line_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.order_item.sku} × {self.qty}"
