"""Confirmation step for order actions (R-GRID-3: each action asks before it runs), shared by the
grid's bulk actions and the detail page's buttons."""

from collections.abc import Callable

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from .actions import OrderAction, run_action
from .bulk import BulkResult
from .models import Order

CONFIRM_FIELD = "confirm_action"
SELECTED_UP_TO = "selected_up_to"  # "select all": the newest order the confirmation page counted
SHOWN_COUNT = "shown_count"  # the count the confirmation page gave, kept on the job it records
PREVIEW_SIZE = 20  # orders listed on the confirmation page; the rest are counted


def confirm_then_run(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    order_ids: Callable[[], list[int]],
    *,
    action: OrderAction,
    count: int,
    hidden: dict[str, list[str]],
    orders: QuerySet[Order],
    count_is_estimate: bool = False,
    filters: dict[str, list[str]] | None = None,
    up_to_order_id: int | None = None,
    record: bool = False,
) -> HttpResponse | None:
    """Show the confirmation page (with the action's form); once confirmed, run the action and report
    done / skipped in one message. `order_ids` is called only once confirmed; with `filters` (the
    grid's "select all") the action runs on every order they match, as a background job. `record`: a
    bulk action run at once is recorded as a bulk job too (run_action)."""
    confirmed = CONFIRM_FIELD in request.POST
    form_kwargs = action.form_kwargs(orders=orders) if action.form_kwargs else {}
    form = action.form_class(request.POST if confirmed else None, **form_kwargs) if action.form_class else None
    if confirmed and (form is None or form.is_valid()):
        params = form.to_params() if form else {}
        shown = request.POST.get(SHOWN_COUNT, "")
        outcome = run_action(name=action.name, order_ids=None if filters is not None else order_ids(),
                             filters=filters, up_to_order_id=up_to_order_id, params=params, user=request.user,
                             record=record, shown_count=int(shown) if shown.isdigit() else count,
                             shown_as_estimate=count_is_estimate)
        if isinstance(outcome, BulkResult):
            level = messages.SUCCESS if not outcome.skipped_count else messages.WARNING
            text = outcome.summary(action.label, done_word=action.done_word)
            if outcome.job_id is not None and action.queues_channel_change:
                text = format_html('{} <a href="{}">Follow what the channel says</a> on its bulk job.', text,
                                   reverse("admin:orders_bulkjob_change", args=[outcome.job_id]))
            modeladmin.message_user(request, text, level)
        else:
            link = reverse("admin:orders_bulkjob_change", args=[outcome.pk])
            modeladmin.message_user(
                request,
                format_html('{}: queued to run in the background on {} — <a href="{}">follow its progress</a>.',
                            action.label, outcome.size_in_words, link),
                messages.INFO,
            )
        return None

    context = {
        **modeladmin.admin_site.each_context(request),
        "title": f"{action.label}: are you sure?",
        "opts": modeladmin.model._meta,
        "action_label": action.label,
        "form": form,
        "count": count,
        "count_is_estimate": count_is_estimate,
        "preview": [(reverse("admin:orders_order_change", args=[pk]), number)
                    for pk, number in orders.order_by("pk").values_list("pk", "channel_order_id")[:PREVIEW_SIZE]],
        "hidden": [(name, value) for name, values in {**hidden, SHOWN_COUNT: [str(count)]}.items()
                   for value in values],
        "confirm_field": CONFIRM_FIELD,
    }
    return TemplateResponse(request, "admin/orders/order/action_confirmation.html", context)


def selection_ceiling(posted: str | None, *, orders: QuerySet[Order]) -> int:
    """The newest order a "select all" covers: the one the confirmation page posts back, or, as the
    page is drawn, the newest order matching now (0 when none does)."""
    if posted is not None and posted.isdigit():
        return int(posted)
    return orders.order_by("-pk").values_list("pk", flat=True).first() or 0


def bulk_hidden_fields(request: HttpRequest) -> dict[str, list[str]]:
    """What the changelist needs to see the same action and selection again."""
    return {
        "action": [request.POST.get("action", "")],
        "select_across": [request.POST.get("select_across", "0")],
        "index": ["0"],
        helpers.ACTION_CHECKBOX_NAME: request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
    }
