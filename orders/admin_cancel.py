"""The order page's Cancel: the operator chooses lines and units (where the channel takes part of a
line) and the channel's reason, sees what will be sent, then confirms. Thin: the form collects,
orders.services.cancel decides."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse

from channels.reasons import reason_label

from .forms import OrderCancelForm
from .models import Order
from .services.cancel import cancel_plan, order_cancel
from .services.errors import OrderActionRefused

CONFIRM = "confirm_cancel"  # the confirmation's button: send what the page showed
EDIT = "edit_cancel"  # back from the confirmation to the choices, as they were


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
                plan = cancel_plan(order=order, items=items, reason=form.cleaned_data["reason"],
                                   quantities=form.quantities())
                if CONFIRM in request.POST:
                    order_cancel(order_id=order.pk, reason=plan.reason, quantities=form.quantities(),
                                 user=request.user)
                    self.message_user(request, f"Cancellation recorded ({plan.summary}; reason: "
                                      f"{reason_label(plan.reason)}); queued for {order.get_channel_display()}.",
                                      messages.SUCCESS)
                    return HttpResponseRedirect(detail)
            except OrderActionRefused as refusal:
                form.add_error(None, f"Not canceled: {refusal}.")
                plan = None
        chosen = {line.item.pk: line.qty for line in plan.lines} if plan else {}
        return TemplateResponse(request, "admin/orders/order/cancel.html", {
            **self.admin_site.each_context(request), "opts": self.opts,
            "title": f"Cancel order {order.channel_order_id}" if plan is None else "Send this cancellation?",
            "order": order, "form": form, "plan": plan, "detail_url": detail,
            "reason_label": reason_label(plan.reason) if plan else "",
            "left_open": [(item, item.qty_open - chosen.get(item.pk, 0)) for item in form.open_items
                          if item.qty_open > chosen.get(item.pk, 0)],
            "confirm_field": CONFIRM, "edit_field": EDIT,
        })
