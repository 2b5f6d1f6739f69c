"""The cockpit's pages, served by the admin site (cockpit.site): thin, reads in selectors, changes in
services. Who may do what follows access/roles.py: every role reads; Operators reconcile."""

from __future__ import annotations

from django.apps import apps
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse

from channels.models import ChannelAccount
from orders.handoff import hand_off

from . import charts, saved_views, selectors, stats
from .models import Discrepancy, SavedView

VIEW_PERMISSION = "orders.view_order"
RECONCILE_PERMISSION = "cockpit.reconcile_account"
TODAY_LIST_PERMISSIONS = {"import_problems": "orders.view_importproblem", "discrepancies": "cockpit.view_discrepancy"}


def _require(request: HttpRequest, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied


def today_context(request: HttpRequest) -> dict:
    """The index's "Today" panel, for those who may see orders (a staff user with no role sees none)."""
    if not request.user.has_perm(VIEW_PERMISSION):
        return {}
    rows = selectors.today()
    # A figure links only to a list its reader may open (a link to a 403 reads as a broken page).
    linked = {name for name, _label in selectors.TODAY_COLUMNS
              if request.user.has_perm(TODAY_LIST_PERMISSIONS.get(name, VIEW_PERMISSION))}
    if request.user.has_perm("channels.view_channelaccount"):
        linked.add("not_in_sync")
    return {"today_rows": rows[:-1], "today_total": rows[-1], "today_columns": selectors.TODAY_COLUMNS,
            "today_linked": linked, "can_reconcile": request.user.has_perm(RECONCILE_PERMISSION)}


# The cockpit's own pages, listed in its section of the app list (cockpit.site).
PAGES = (("Seller performance", "admin:cockpit_performance"), ("Charts", "admin:cockpit_charts"))


def _cockpit_crumb() -> tuple[str, str]:
    return (apps.get_app_config("cockpit").verbose_name, reverse("admin:app_list", kwargs={"app_label": "cockpit"}))


def needs_attention_crumbs() -> list[tuple[str, str]]:
    return [_cockpit_crumb(), (Discrepancy._meta.verbose_name_plural.capitalize(),
                               reverse("admin:cockpit_discrepancy_changelist"))]


def _grid_crumbs() -> list[tuple[str, str]]:
    """Saved views belong to the order grid: Home › Sales › Orders, as the order pages read."""
    from orders.models import Order

    return [(apps.get_app_config("orders").verbose_name, reverse("admin:app_list", kwargs={"app_label": "orders"})),
            (Order._meta.verbose_name_plural.capitalize(), reverse("admin:orders_order_changelist"))]


def _page(request: HttpRequest, template: str, title: str, *, crumbs: list[tuple[str, str]] | None = None,
          **context) -> TemplateResponse:
    """An admin page whose breadcrumbs read like the rest of the admin's: Home › the app › (its list ›)
    the page."""
    from django.contrib import admin

    return TemplateResponse(request, template, {**admin.site.each_context(request), "title": title,
                                                "crumbs": [_cockpit_crumb()] if crumbs is None else crumbs,
                                                **context})


def performance_view(request: HttpRequest) -> HttpResponse:
    _require(request, VIEW_PERMISSION)
    accounts = selectors.seller_performance()
    return _page(request, "admin/cockpit/performance.html", "Seller performance", accounts=accounts,
                 windows=selectors.WINDOWS, refreshed_at=max((a.refreshed_at for a in accounts if a.refreshed_at),
                                                             default=None))


def charts_view(request: HttpRequest) -> HttpResponse:
    _require(request, VIEW_PERMISSION)
    data = selectors.chart_data()
    shown = [
        ("Orders per day, per channel and account (90 days)",
         charts.line_chart, {"counted": "orders", "days": data.days, "series": data.orders_by_account}),
        ("Time from sale to shipment (shipments of the last 90 days)",
         charts.bar_chart, {"counted": "shipments", "buckets": charts.bucket_labels(stats.SHIP_HOURS, "h"),
                            "series": data.histograms["ship_hours"]}),
        ("Sync lag: sale on the channel → imported (orders)",
         charts.bar_chart, {"counted": "orders", "buckets": charts.bucket_labels(stats.IMPORT_MINUTES, "min"),
                            "series": data.histograms["import_minutes"]}),
        ("Sync lag: change queued → confirmed by the channel (channel actions)",
         charts.bar_chart, {"counted": "channel actions", "buckets": charts.bucket_labels(stats.CONFIRM_SECONDS, "s"),
                            "series": data.histograms["confirm_seconds"]}),
        ("Channel action failures per day (90 days)",
         charts.line_chart, {"counted": "failed actions", "days": data.days, "series": data.failures_by_account}),
    ]
    return _page(request, "admin/cockpit/charts.html", "Charts", refreshed_at=data.refreshed_at,
                 charts=[(title, draw(title=title, **data_of)) for title, draw, data_of in shown])


def reconcile_view(request: HttpRequest, account_id: int) -> HttpResponse:
    """Compare one account with its channel now (in the background); GET asks first."""
    _require(request, RECONCILE_PERMISSION)
    account = get_object_or_404(ChannelAccount, pk=account_id)
    back = reverse("admin:cockpit_discrepancy_changelist")
    if request.method == "POST":
        from . import tasks

        with transaction.atomic():
            hand_off(tasks.reconcile_account.name, account.pk, request.user.pk)
        messages.success(request, f"Reconciliation of {account.title} queued: differences appear here as it finds them.")
        return HttpResponseRedirect(back)
    return _page(request, "admin/cockpit/confirm.html", f"Reconcile {account.title} now?", back_url=back,
                 crumbs=needs_attention_crumbs(),
                 question=f"Compare the orders created on {account.get_channel_display()} in the last days with "
                 "ours, and list every difference under Needs attention?", button="Reconcile now")


def saved_view_save(request: HttpRequest) -> HttpResponse:
    """Save the grid's current filters and sort under a name (GET shows the form alone)."""
    _require(request, VIEW_PERMISSION)
    form = saved_views.SavedViewForm(request.POST or None, initial={"query": request.GET.get("query", "")})
    if request.method == "POST" and form.is_valid():
        view, replaced = saved_views.saved_view_save(owner=request.user, name=form.cleaned_data["name"],
                                                     query=form.cleaned_data["query"],
                                                     shared=form.cleaned_data["shared"])
        if replaced:  # the operator may not have meant to: say so, the old filters are gone
            messages.warning(request, f"View “{view.name}” replaced: it now shows these filters instead of its "
                             "earlier ones.")
        else:
            messages.success(request, f"View “{view.name}” saved.")
        return HttpResponseRedirect(f"{reverse('admin:orders_order_changelist')}?{view.query}")
    return _page(request, "admin/cockpit/saved_view_form.html", "Save this view", form=form, crumbs=_grid_crumbs(),
                 back_url=reverse("admin:orders_order_changelist"))


def saved_view_delete(request: HttpRequest, view_id: int) -> HttpResponse:
    _require(request, VIEW_PERMISSION)
    view = get_object_or_404(SavedView, pk=view_id)
    if not saved_views.may_delete(user=request.user, view=view):
        raise PermissionDenied
    back = reverse("admin:orders_order_changelist")
    if request.method == "POST":
        view.delete()
        messages.success(request, f"View “{view.name}” deleted.")
        return HttpResponseRedirect(back)
    return _page(request, "admin/cockpit/confirm.html", f"Delete the view “{view.name}”?", back_url=back,
                 crumbs=_grid_crumbs(),
                 question="Delete this saved view? The orders are not touched.", button="Delete view")
