"""Confirmation step for bulk actions (R-GRID-3: each action asks before it runs)."""

from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from .bulk import BulkResult

CONFIRM_FIELD = "confirm_action"


def confirm_then_run(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet,
    *,
    action_label: str,
    run: Callable[..., BulkResult],
    form_class: type[forms.Form] | None = None,
) -> HttpResponse | None:
    """Show a confirmation page (with the action's form, if any); on confirmation call
    `run(order_ids=…, user=…, **form.cleaned_data)` and report done / skipped in one message."""
    form = form_class(request.POST if CONFIRM_FIELD in request.POST else None) if form_class else None
    if CONFIRM_FIELD in request.POST and (form is None or form.is_valid()):
        order_ids = list(queryset.order_by("pk").values_list("pk", flat=True))
        result = run(order_ids=order_ids, user=request.user, **(form.cleaned_data if form else {}))
        level = messages.SUCCESS if not result.skipped_count else messages.WARNING
        modeladmin.message_user(request, result.summary(action_label), level)
        return None

    context = {
        **modeladmin.admin_site.each_context(request),
        "title": f"{action_label}: are you sure?",
        "opts": modeladmin.model._meta,
        "action_label": action_label,
        "action_name": request.POST.get("action", ""),
        "form": form,
        "count": queryset.count(),
        "select_across": request.POST.get("select_across", "0"),
        "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
        "checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "confirm_field": CONFIRM_FIELD,
    }
    return TemplateResponse(request, "admin/orders/order/action_confirmation.html", context)
