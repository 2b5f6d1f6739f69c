from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse

from orders.models import Order

from .forms import CreditMemoForm
from .models import CreditMemo, CreditMemoItem
from .rules import CreditMemoRefused, refusal_for_status
from .services import credit_memo_create, credit_memo_defaults, credit_memo_preview


class CreditMemoItemInline(admin.TabularInline):
    model = CreditMemoItem
    extra = 0
    can_delete = False
    readonly_fields = ("order_item", "action", "qty", "amount", "tax")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CreditMemo)
class CreditMemoAdmin(admin.ModelAdmin):
    list_display = ("pk", "order", "channel_action", "grand_total", "state", "created_at")
    list_filter = ("state", "channel_action")
    list_select_related = ("order",)
    search_fields = ("=order__channel_order_id",)
    inlines = [CreditMemoItemInline]
    readonly_fields = [field.name for field in CreditMemo._meta.fields]

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
        plan, error = None, ""
        if form.is_bound and form.is_valid():
            memo_input = form.to_input()
            try:
                if "_save" in request.POST:
                    memo = credit_memo_create(order_id=order.pk, memo=memo_input, user=request.user)
                    self.message_user(request, f"Credit memo #{memo.pk} saved: {memo.grand_total} {order.currency}.",
                                      messages.SUCCESS)
                    return HttpResponseRedirect(detail)
                plan = credit_memo_preview(order_id=order.pk, memo=memo_input)
            except CreditMemoRefused as refused:
                error = str(refused)
        elif not form.is_bound:
            try:
                plan = credit_memo_preview(order_id=order.pk, memo=defaults)
            except CreditMemoRefused as refused:
                error = str(refused)
        context = {
            **self.admin_site.each_context(request),
            "title": f"New credit memo for order {order.channel_order_id}",
            "opts": self.opts,
            "order": order,
            "form": form,
            "plan": plan,
            "error": error,
            "detail_url": detail,
        }
        return TemplateResponse(request, "admin/creditmemos/creditmemo/create.html", context)
