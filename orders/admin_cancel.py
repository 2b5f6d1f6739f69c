"""The order page's Cancel: the whole order, every open unit (shipped units stay), with the reason
the operator chooses from the channel's list; the page shows what will be sent, then the operator
confirms. Part of an order is canceled by a credit memo, which the page points to. Thin: the form
collects, orders.services.cancel decides."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse

from channels.reasons import reason_label
from creditmemos.rules import refusal_for_status

from .forms import OrderCancelForm
from .models import Order
from .services.cancel import cancel_plan, order_cancel
from .services.errors import OrderActionRefused

CONFIRM = "confirm_cancel"  # the confirmation's button: send what the page showed
EDIT = "edit_cancel"  # back from the confirmation to the choice, as it was


def credit_memo_url(request: HttpRequest, order: Order) -> str:
    """The order's credit memo form (where some units alone are canceled), if the user may create
    one and the order takes one; empty otherwise, as the order page's Credit Memo button."""
    if request.user.has_perm("orders.refund_order") and refusal_for_status(order) is None:
        return reverse("admin:creditmemos_creditmemo_create_for_order", args=[order.pk])
    return ""


class CancelViews:
    """Mixed into the order admin."""

    def cancel_urls(self):
        return [path("<int:order_id>/cancel/", self.admin_site.admin_view(self.cancel_view),
                     name="orders_order_cancel")]

    def cancel_view(self, request: HttpRequest, order_id: int) -> HttpResponse:
        if not self.has_operate_permission(request):
            raise PermissionDenied
        order = get_object_or_404(Order.objects.select_related("account"), pk=order_id)
        detail = reverse("admin:orders_order_change", args=[order.pk])
        items = list(order.items.order_by("pk"))
        form = OrderCancelForm(request.POST or None, order=order, items=items)
        plan = None
        if form.is_bound and EDIT not in request.POST and form.is_valid():
            try:
                plan = cancel_plan(order=order, items=items, reason=form.cleaned_data["reason"])
                if CONFIRM in request.POST:
                    order_cancel(order_id=order.pk, reason=plan.reason, user=request.user)
                    self.message_user(request, f"Cancellation recorded ({plan.summary}; reason: "
                                      f"{reason_label(plan.reason)}); queued for {order.get_channel_display()}.",
                                      messages.SUCCESS)
                    return HttpResponseRedirect(detail)
            except OrderActionRefused as refusal:
                form.add_error(None, f"Not canceled: {refusal}.")
                plan = None
        return TemplateResponse(request, "admin/orders/order/cancel.html", {
            **self.admin_site.each_context(request), "opts": self.opts,
            "title": f"Cancel order {order.channel_order_id}" if plan is None else "Send this cancellation?",
            "order": order, "form": form, "plan": plan, "detail_url": detail,
            "reason_label": reason_label(plan.reason) if plan else "",
            "shipped": [item for item in items if item.qty_shipped],
            "credit_memo_url": credit_memo_url(request, order),
            "confirm_field": CONFIRM, "edit_field": EDIT,
        })
