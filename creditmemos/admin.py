from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from channels.reasons import reason_label

from orders.models import Order

from orders.admin_lists import LongListAdmin
from orders.admin_shipping import ship_url

from .forms import CreditMemoForm, memo_preview
from .models import CreditMemo, CreditMemoItem
from .rules import CreditMemoRefused, refusal_for_status
from .services import credit_memo_create, credit_memo_defaults, credit_memo_preview, credit_memo_shipping_for


def _money(amount, memo: CreditMemo) -> str:
    return f"{amount:,.2f} {memo.order.currency}"


def _money_column(field: str, description: str, **display):
    """A read-only column of one of the memo's amounts, in the order's currency."""
    @admin.display(description=description, **display)
    def column(self, memo: CreditMemo) -> str:
        return _money(getattr(memo, field), memo)
    return column


class CreditMemoItemInline(admin.TabularInline):
    model = CreditMemoItem
    extra = 0
    can_delete = False
    fields = readonly_fields = ("order_item", "action", "qty", "price", "tax_amount")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order_item", "credit_memo__order")

    @admin.display(description="Price")
    def price(self, line: CreditMemoItem) -> str:
        return _money(line.amount, line.credit_memo)

    @admin.display(description="Tax")
    def tax_amount(self, line: CreditMemoItem) -> str:
        return _money(line.tax, line.credit_memo)

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CreditMemo)
class CreditMemoAdmin(LongListAdmin, admin.ModelAdmin):
    list_display = ("number", "channel_order", "channel_action", "total", "state", "created_at")
    list_filter = ("state", "channel_action")
    list_select_related = ("order",)
    search_fields = ("order__channel_order_id__exact",)  # through the order's index, not a scan of every order
    search_help_text = "The channel order # (all of it)."
    inlines = [CreditMemoItemInline]
    # Money in the order's currency, the order by its channel order #, the actions in words: the
    # model's own fields would show bare amounts and the actions' internal order ids.
    fields = readonly_fields = (
        "number", "channel_order", "state", "channel_action", "refund_reason", "comment", "restock",
        "items", "shipping", "canceled_shipping_money", "adjustment_refund_money", "adjustment_fee_money", "total",
        "sent_as", "channel_reference", "error", "created_by", "created_at", "updated_at",
    )

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order")

    @admin.display(description="Credit memo #", ordering="pk")
    def number(self, memo: CreditMemo) -> int:
        return memo.pk

    @admin.display(description="Order", ordering="order__channel_order_id")
    def channel_order(self, memo: CreditMemo) -> str:
        order = memo.order
        return format_html('<a href="{}">{} order {}</a>', reverse("admin:orders_order_change", args=[order.pk]),
                           order.get_channel_display(), order.channel_order_id)

    @admin.display(description="Reason")
    def refund_reason(self, memo: CreditMemo) -> str:
        return reason_label(memo.reason)

    items = _money_column("items_total", "Items (price and tax)")
    shipping = _money_column("shipping_refund", "Shipping")
    canceled_shipping_money = _money_column("canceled_shipping", "Shipping returned by its cancels")
    adjustment_refund_money = _money_column("adjustment_refund", "Adjustment refund")
    adjustment_fee_money = _money_column("adjustment_fee", "Adjustment fee")
    total = _money_column("grand_total", "Grand total", ordering="grand_total")

    @admin.display(description="Sent to the channel as")
    def sent_as(self, memo: CreditMemo) -> str:
        return format_html_join(mark_safe("<br>"), "{} ({})", (
            (action.description, action.get_state_display()) for action in memo.channel_actions.order_by("pk"))) or "—"

    def has_add_permission(self, request) -> bool:
        return False  # created from the order page, through the credit memo form

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        return [
            path("for-order/<int:order_id>/", self.admin_site.admin_view(self.create_view),
                 name="creditmemos_creditmemo_create_for_order"),
        ] + super().get_urls()

    def create_view(self, request: HttpRequest, order_id: int):
        """The credit memo form: preview the totals, then save (R-CM-*)."""
        if not request.user.has_perm("orders.refund_order"):
            raise PermissionDenied
        order = get_object_or_404(Order.objects.select_related("account"), pk=order_id)
        detail = reverse("admin:orders_order_change", args=[order.pk])
        refusal = refusal_for_status(order)
        if refusal:
            self.message_user(request, str(refusal), messages.ERROR)
            return HttpResponseRedirect(detail)
        items = list(order.items.order_by("pk"))
        defaults = credit_memo_defaults(order_id=order.pk)
        form = CreditMemoForm(request.POST or None, order=order, items=items, defaults=defaults)
        plan, error, ship_first_url = None, "", ""
        try:
            if form.is_bound and form.is_valid():
                memo_input = form.to_input()
                memo_input = form.follow_units(memo_input, credit_memo_shipping_for(order_id=order.pk,
                                                                                     memo=memo_input))
                if "_save" in request.POST and form.shipping_rederived_from is None:
                    memo = credit_memo_create(order_id=order.pk, memo=memo_input, user=request.user)
                    self.message_user(request, _saved_message(memo), messages.SUCCESS)
                    return HttpResponseRedirect(detail)
                plan = credit_memo_preview(order_id=order.pk, memo=memo_input)
            elif not form.is_bound:
                plan = credit_memo_preview(order_id=order.pk, memo=defaults)
        except CreditMemoRefused as refused:
            error = str(refused)
            if refused.ship_first:
                ship_first_url = ship_url(order.pk, refused.ship_first)
        context = {
            **self.admin_site.each_context(request),
            "title": f"New credit memo for order {order.channel_order_id}",
            "opts": self.opts,
            "order_opts": Order._meta,
            "order": order,
            "form": form,
            "plan": plan,
            "preview": memo_preview(plan) if plan else None,
            "error": error,
            "ship_first_url": ship_first_url,
            "rederived_from": form.shipping_rederived_from if "_save" in request.POST and form.is_bound else None,
            "detail_url": detail,
        }
        return TemplateResponse(request, "admin/creditmemos/creditmemo/create.html", context)


def _saved_message(memo: CreditMemo) -> str:
    currency = memo.order.currency
    if memo.state == CreditMemo.State.LOCAL:
        return f"Credit memo #{memo.pk} saved: {memo.grand_total} {currency}, local only (nothing sent to the channel)."
    return f"Credit memo #{memo.pk} saved: {memo.grand_total} {currency}; queued for the channel."
