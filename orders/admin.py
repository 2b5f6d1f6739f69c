import functools
from collections import Counter
from contextvars import ContextVar

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import get_script_prefix, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from cockpit.selectors import open_discrepancy_of

from . import admin_accounts  # noqa: F401  (the account admin, with sync health and imports)
from .admin_exports import csv_answer
from .admin_lists import EstimatedCountPaginator, LongListAdmin
from .admin_import_problems import open_import_problems_link
from .actions import (ACTIONS, INLINE_LIMIT, OrderAction, Outcome, bulk_job_count_note, bulk_job_order_outcomes,
                      bulk_job_summary)
from .admin_confirm import SELECTED_UP_TO, bulk_hidden_fields, confirm_then_run, selection_ceiling
from .admin_cancel import CancelViews
from .admin_shipping import ShippingViews
from .filters import OrderFilterSet, filter_param_names
from .models import BulkJob, ChannelAction, Fulfillment, Order, OrderLog, OrderStatus, Product, Shipment, SyncState
from .selectors import (channel_status_predates_confirmed_changes, order_detail, order_grid_queryset, order_history,
                        order_list, order_totals, shipments_matching)
from .services.shipments import withdrawable_shipments
from .services.store_orders import store_order_refusal
from .services.tracking import carrier_choices
from .templatetags.safe_links import http_link
from .datetimes import operator_datetime
from .status import (UnitsUnconfirmed, cancel_request_waiting, items_unconfirmed, order_status_shown,
                     refunded_units_unconfirmed)


class OrderChangeList(ChangeList):
    """The admin changelist with the grid filters taken from OrderFilterSet instead of list_filter."""

    def get_filters_params(self, params=None):
        lookup_params = super().get_filters_params(params)
        for name in filter_param_names():
            lookup_params.pop(name, None)
        return lookup_params

    def get_queryset(self, request, exclude_parameters=None):
        queryset = super().get_queryset(request, exclude_parameters)
        self.filterset = OrderFilterSet(data=request.GET or None, queryset=queryset, request=request)
        self.has_filters = True
        self.has_active_filters = bool(set(request.GET) & filter_param_names())
        return self.filterset.qs


OPERATE_PERMISSION, VIEW_PRODUCT_PERMISSION = "orders.operate_order", "orders.view_product"
_grid_reader_may: ContextVar[frozenset[str]] = ContextVar("grid_reader_may", default=frozenset())
CANCEL_REQUESTED_LABEL = mark_safe('<span class="cancel-requested">Cancellation Requested</span> ')
STATUS_COLOURS = {
    OrderStatus.PENDING: "#8a6d3b",
    OrderStatus.CREATED: "#31708f",
    OrderStatus.UNSHIPPED: "#c77c02",
    OrderStatus.PARTIALLY_SHIPPED: "#6f42c1",
    OrderStatus.SHIPPED: "#2e7d32",
    OrderStatus.CANCELED: "#777",
    OrderStatus.UNFULFILLABLE: "#b71c1c",
    OrderStatus.INVOICE_UNCONFIRMED: "#8a6d3b",
}


@admin.register(Order)
class OrderAdmin(LongListAdmin, ShippingViews, CancelViews, admin.ModelAdmin):
    list_display = (
        "sale_date_column",
        "ship_by_date_column",
        "store_order_column",
        "channel_order_column",
        "account_column",
        "items_column",
        "buyer_column",
        "fulfillment_column",
        "total_paid_column",
        "status_column",
    )
    list_display_links = None
    sortable_by = ("sale_date_column", "ship_by_date_column")
    ordering = ("-sale_date", "-id")
    list_per_page = 50
    list_max_show_all = 500
    actions = ["export_csv_action"]
    change_list_template = "admin/orders/order/change_list.html"

    # -- permissions: viewing, operating, refunding are separate (SPEC §9)
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # orders come from the channels

    def has_delete_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        return False  # channel data is read-only; operators act through services

    def has_operate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("orders.operate_order")

    # -- grid
    def get_queryset(self, request: HttpRequest) -> QuerySet[Order]:
        return order_grid_queryset()

    def get_changelist(self, request: HttpRequest, **kwargs):
        return OrderChangeList

    @admin.display(description="Sale Date", ordering="sale_date")
    def sale_date_column(self, order: Order):
        return _datetime_cell(order.sale_date)

    @admin.display(description="Ship By Date", ordering="ship_by_date")
    def ship_by_date_column(self, order: Order):
        return _datetime_cell(order.ship_by_date)

    def _detail_url(self, order: Order) -> str:
        return row_url("admin:orders_order_change", order.pk)

    @admin.display(description="Store Order #")
    def store_order_column(self, order: Order):
        if not order.store_order_number:
            return "N/A"
        return format_html('<a href="{}#store-order">{}</a>', self._detail_url(order), order.store_order_number)

    @admin.display(description="Channel Order #")
    def channel_order_column(self, order: Order):
        return two_lines(
            format_html('<a href="{}" class="channel-order-link">{}</a>', self._detail_url(order),
                        order.channel_order_id),
            order.customer_order_id,
        )

    @admin.display(description="Account")
    def account_column(self, order: Order):
        return two_lines(order.account.title, order.marketplace.name,
                         hover=f"{order.account.title} — {order.marketplace.name}")

    @admin.display(description="Items")
    def items_column(self, order: Order):
        """First item's title (and how many more), then every SKU × quantity; all of it on hover."""
        items = list(order.items.all())
        if not items:
            return "—"
        count = format_html('<span class="more-items">{} items ·</span> ', len(items)) if len(items) > 1 else ""
        # Where the seeds put the buyer's request: Walmart's, asked line by line, here beside the items
        # (its lines marked); Amazon's, for the whole order, in Status.
        request = cancel_request_waiting(order, order_status_shown(order, order.unsettled_actions))
        asked = {item.pk for item in request.lines} if request else set()
        first = format_html("{}{}{}", CANCEL_REQUESTED_LABEL if asked else "", count, items[0].title or items[0].sku)
        skus = format_html_join(", ", "{}", (
            (format_html('<span class="line-cancel-requested" title="The buyer asked to cancel this line">{} × {}</span>',
                         _sku_html(item), item.qty_ordered) if item.pk in asked
             else format_html("{} × {}", _sku_html(item), item.qty_ordered),) for item in items))
        hover = "\n".join(f"{item.title} — SKU {item.sku} × {item.qty_ordered}"
                          + (" (the buyer asked to cancel this line)" if item.pk in asked else "") for item in items)
        return two_lines(first, skus, hover=hover)

    @admin.display(description="Buyer")
    def buyer_column(self, order: Order):
        return two_lines(order.buyer_name, order.buyer_email, hover=f"{order.buyer_name} <{order.buyer_email}>")

    @admin.display(description="Fulfillment")
    def fulfillment_column(self, order: Order):
        if order.fulfillment == Fulfillment.CHANNEL:  # "Channel-fulfilled" over two short lines
            return two_lines("Channel", "fulfilled", hover=order.get_fulfillment_display())
        return two_lines(order.get_fulfillment_display())

    @admin.display(description="Total Paid")
    def total_paid_column(self, order: Order):
        return f"{order.grand_total:,.2f} {order.currency}"

    @admin.display(description="Status")
    def status_column(self, order: Order):
        return status_html(order, may_retry=OPERATE_PERMISSION in _grid_reader_may.get())

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        extra_context = {**(extra_context or {}), "export_url": reverse("admin:orders_order_export"),
                         **open_import_problems_link(request)}
        if self.has_operate_permission(request):
            extra_context["upload_tracking_url"] = reverse("admin:orders_order_upload_tracking")
        # The cells are drawn without the request: they link only where their reader may go (a link
        # to a 403 page reads as a broken one), so the page is drawn while the reader's rights are set.
        token = _grid_reader_may.set(frozenset(
            permission for permission in (OPERATE_PERMISSION, VIEW_PRODUCT_PERMISSION) if request.user.has_perm(permission)))
        try:
            response = super().changelist_view(request, extra_context)
            if hasattr(response, "render"):
                response.render()
            return response
        finally:
            _grid_reader_may.reset(token)

    # -- bulk actions (R-GRID-3), one per entry of orders.actions.ACTIONS, plus Export CSV
    def get_actions(self, request: HttpRequest):
        actions = super().get_actions(request)
        if self.has_operate_permission(request):
            for action in ACTIONS.values():
                name = f"{action.name}_action"
                actions[name] = (_bulk_action(action), name, action.label)
        return actions

    @admin.action(description="Export CSV", permissions=["view"])
    def export_csv_action(self, request: HttpRequest, queryset: QuerySet[Order]):
        return csv_answer(modeladmin=self, request=request, orders=queryset)

    # -- detail page (R-GRID-4) and its buttons
    def get_urls(self):
        custom = [
            path("export/", self.admin_site.admin_view(self.export_view), name="orders_order_export"),
            path(
                "<int:order_id>/action/<str:name>/",
                self.admin_site.admin_view(self.order_action_view),
                name="orders_order_action",
            ),
        ]
        return custom + self.shipping_urls() + self.cancel_urls() + super().get_urls()

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            order = order_detail(order_id=int(object_id))
        except (Order.DoesNotExist, ValueError):
            raise Http404("No such order")
        predates = channel_status_predates_confirmed_changes(order)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Order {order.channel_order_id}",
            "subtitle": None,
            "opts": self.opts,
            "order": order,
            "item_rows": item_rows(order, predates_confirmed_changes=predates),
            "logs": order_history(order),
            "can_operate": self.has_operate_permission(request),
            "store_order_refusal": store_order_refusal(order),
            "has_failed_actions": order.sync_state == SyncState.ERROR,
            "status_html": status_html(order, may_retry=self.has_operate_permission(request)),
            "channel_status": channel_status_words(order, predates_confirmed_changes=predates),
            "totals": order_totals(order),
            "can_refund": request.user.has_perm("orders.refund_order"),
            "credit_memo_refusal": credit_memo_refusal(order),
            # What the last reconciliation found different, so the page does not hide it.
            "open_difference": open_discrepancy_of(order_id=order.pk),
            "has_operator_shipment": _resendable(order),
            "withdrawable": withdrawable_shipments(order=order),
            # Buttons offer what is still to do: units neither shipped nor canceled, here or on their way.
            "has_open_units": order.status != OrderStatus.PENDING and any(item.qty_open for item in order.items.all()),
        }
        return TemplateResponse(request, "admin/orders/order/detail.html", context)

    def order_action_view(self, request: HttpRequest, order_id: int, name: str) -> HttpResponse:
        """An action on one order from its detail page, with the same confirmation as the grid."""
        action = ACTIONS.get(name)
        if action is None:
            raise Http404("No such action")
        if not self.has_operate_permission(request):
            raise PermissionDenied
        order = get_object_or_404(Order, pk=order_id)
        detail = reverse("admin:orders_order_change", args=[order.pk])
        if request.method == "POST" and action.form_class is None and "confirm_action" not in request.POST:
            request.POST = request.POST.copy()
            request.POST["confirm_action"] = "yes"  # a plain button on the detail page is its own confirmation
        response = confirm_then_run(self, request, lambda: [order.pk], action=action, count=1, hidden={},
                                    orders=Order.objects.filter(pk=order.pk))
        if response is None:
            return HttpResponseRedirect(detail)
        response.context_data["back_url"] = detail
        return response

    def export_view(self, request: HttpRequest) -> HttpResponse:
        """All orders matching the grid's current filters (the same FilterSet)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        return csv_answer(modeladmin=self, request=request, orders=order_list(filters=request.GET))


GRID_PAGING_PARAMS = ("p", "o", "all")  # the page shown and its sort, not which orders match


def credit_memo_refusal(order: Order) -> str:
    """Why the order takes no credit memo in its status, so the page says it instead of offering a
    button to a refusal (the rule lives with the credit memos)."""
    from creditmemos.rules import refusal_for_status

    refusal = refusal_for_status(order)
    return str(refusal).rstrip(".") if refusal else ""


def _bulk_action(action: OrderAction):
    def run(modeladmin: OrderAdmin, request: HttpRequest, queryset: QuerySet[Order]):
        # "Select all N orders": the job keeps the grid's filters and a worker reads them in chunks, so
        # the click costs a count estimate, not a list of a million ids. It acts on the orders the
        # operator was shown: none newer than the newest matching when the confirmation page was drawn
        # (the import keeps adding orders meanwhile).
        hidden = bulk_hidden_fields(request)
        select_all = request.POST.get("select_across") == "1"
        up_to = None
        if select_all:
            up_to = selection_ceiling(request.POST.get(SELECTED_UP_TO), orders=queryset)
            queryset = queryset.filter(pk__lte=up_to)
            hidden[SELECTED_UP_TO] = [str(up_to)]
        paginator = EstimatedCountPaginator(queryset, per_page=1)
        by_filters = select_all and paginator.count > INLINE_LIMIT
        return confirm_then_run(
            modeladmin,
            request,
            lambda: list(queryset.order_by("pk").values_list("pk", flat=True)),
            action=action,
            count=paginator.count,
            count_is_estimate=paginator.count_is_estimate,
            filters={name: values for name, values in request.GET.lists() if name not in GRID_PAGING_PARAMS}
            if by_filters else None,
            up_to_order_id=up_to,
            hidden=hidden,
            orders=queryset,
            record=True,
        )

    run.__name__ = f"{action.name}_action"
    return run


MIXED = "Mixed"  # what the Walmart client records for lines (or a merged line's units) in different statuses


def channel_status_words(order: Order, *, predates_confirmed_changes: bool = False) -> str:
    """The status the channel last sent, in words: "Mixed" becomes what the lines are. A status read
    before changes the channel confirmed since is no longer the channel's: it is not shown."""
    if not order.channel_status:
        return ""
    channel = order.get_channel_display()
    if predates_confirmed_changes:
        return f"{channel} confirmed our changes; its status is read again at the next import"
    if order.channel_status != MIXED:
        words = f"on {channel}: {order.channel_status}"
    else:
        counts = Counter(_line_status_words(item) for item in order.items.all() if item.channel_line_status)
        lines = "; ".join(f"{count} line{'s' if count > 1 else ''} {words}" for words, count in counts.most_common())
        words = f"on {channel} its lines are in different statuses" + (f": {lines}" if lines else "")
    return words


def _resendable(order: Order) -> bool:
    """The latest shipment sent from here, if the channel has it: one whose send is queued or failed
    is retried, corrected or withdrawn instead (order_resend_shipping refuses it)."""
    sent_here = [s for s in order.shipments.all() if s.source == Shipment.Source.OPERATOR and not s.withdrawn_at]
    latest = max(sent_here, key=lambda s: (s.shipped_at, s.pk), default=None)
    return latest is not None and not any(action.shipment_id == latest.pk and action.kind == ChannelAction.Kind.SHIP
                                          for action in order.unsettled_actions)


def _line_status_words(item) -> str:
    if item.channel_line_status != MIXED:
        return item.channel_line_status
    units = [(item.qty_shipped, "shipped"), (item.qty_canceled, "canceled"), (item.qty_open, "not shipped yet")]
    return "with units in different statuses (" + ", ".join(f"{qty} {word}" for qty, word in units if qty) + ")"


def item_rows(order: Order, *, predates_confirmed_changes: bool = False) -> list[dict]:
    """The Items table: shipped and canceled units as the channel confirmed them, with those on their
    way to it or that failed to get there beside them; each line's channel status unless it was read
    before changes the channel confirmed since."""
    unconfirmed = items_unconfirmed(order, order.unsettled_actions)
    refunds = refunded_units_unconfirmed(order, order.unsettled_actions)
    channel = order.get_channel_display()
    rows = []
    for item in order.items.all():
        units = unconfirmed.get(item.pk, UnitsUnconfirmed())
        refunds_waiting, refunds_failed = refunds.get(item.pk, (0, 0))
        rows.append({
            "item": item,
            "channel_status": "" if predates_confirmed_changes or not item.channel_line_status else _line_status_words(item),
            "shipped": _units_html(item.qty_shipped - units.shipped, units.shipped_waiting, units.shipped_failed,
                                   channel=channel, failed_word="not shipped"),
            "canceled": _units_html(item.qty_canceled - units.canceled, units.canceled_waiting,
                                    units.canceled_failed, channel=channel, failed_word="not canceled"),
            "refunded": _units_html(item.qty_refunded - refunds_waiting - refunds_failed, refunds_waiting,
                                    refunds_failed, channel=channel, failed_word="not refunded"),
        })
    return rows


def _units_html(confirmed: int, waiting: int, failed: int, *, channel: str, failed_word: str) -> str:
    html = format_html("{}", confirmed)
    if waiting:
        html += format_html(' <span class="sync-pending units-waiting">+{} waiting for {}</span>', waiting, channel)
    if failed:
        html += format_html(' <span class="sync-error units-failed">{} {}: sending failed</span>', failed, failed_word)
    return html


def status_html(order: Order, *, may_retry: bool) -> str:
    """The status the channel confirmed and what is on its way to it; or the failed action with Retry.
    Two lines at most: the status, then what the operator should know about it (Amazon's cancellation
    request, the failed action and its Retry, or what it waits for); the whole of it on hover."""
    shown = order_status_shown(order, order.unsettled_actions)
    label = shown.confirmed.label if shown.on_its_way is None else f"{shown.confirmed.label} → {shown.on_its_way.label}"
    request = cancel_request_waiting(order, shown)
    cancel_requested = request is not None
    hover = shown.text
    if cancel_requested:  # which lines, where the buyer asked line by line (Walmart)
        lines = "; ".join(f"line {', '.join(item.channel_line_numbers) or item.channel_line_id}: {item.sku}"
                          for item in request.lines)
        hover = f"{label} (Cancellation Requested{f' — {lines}' if lines else ''})" + hover[len(label):]
    first = format_html('<span class="order-status" style="color:{}">{}</span>',
                        STATUS_COLOURS.get(shown.confirmed, "#333"), label)
    badge = CANCEL_REQUESTED_LABEL if cancel_requested and not request.lines else ""  # Walmart's is in Items
    if shown.error:
        second = format_html('{}<span class="sync-error">Error: {}</span>', badge, shown.error)
        if may_retry:
            retry = reverse("admin:orders_order_action", args=[order.pk, "retry_failed_sync"])
            second = format_html('{} <a class="retry-link" href="{}">Retry</a>', second, retry)
        return two_lines(first, second, hover=f"{hover}. Error: {shown.error}", fit_last=may_retry)
    if shown.on_its_way is not None or order.sync_state == SyncState.PENDING:
        channel = order.get_channel_display()
        retrying = [action for action in order.unsettled_actions if action.is_retrying]
        if retrying:  # tried and refused so far: not an Error yet, but not a quiet wait either
            action = max(retrying, key=lambda action: action.attempts)
            waiting = format_html('{}<span class="sync-retrying">waiting for {}: attempt {} of {} failed, trying again'
                                  '</span>', badge, channel, action.attempts, action.max_attempts)
            return two_lines(first, waiting, hover=f"{hover}. {action.description}: {action.last_error}")
        waiting = format_html('{}<span class="sync-pending">waiting for {}</span>', badge, channel)
        return two_lines(first, waiting, hover=hover)
    return two_lines(first, badge, hover=hover)


def _datetime_cell(value) -> str:
    """The one date-time format, its date over its time and zone, so the column stays narrow."""
    date, _, time_and_zone = operator_datetime(value).partition(" ")
    return two_lines(date, time_and_zone)


def two_lines(first, second="", *, hover: str = "", fit_last: bool = False) -> str:
    """A grid cell of at most two lines, each cut short with an ellipsis; the full text on hover.
    `fit_last`: the second line's last element (a link) stays whole and the text before it is cut."""
    if not second:
        return format_html('<div class="cell" title="{}"><div class="line">{}</div></div>', hover, first)
    return format_html('<div class="cell" title="{}"><div class="line">{}</div><div class="line second{}">{}</div></div>',
                       hover, first, " fit-last" if fit_last else "", second)


@functools.cache
def _url_pattern(name: str, script_prefix: str) -> str:
    return reverse(name, args=[0]).replace("/0/", "/{}/")


def row_url(name: str, pk: int) -> str:
    """reverse() of a URL taking one id, without resolving it again for every row of the grid."""
    return _url_pattern(name, get_script_prefix()).format(pk)


def _sku_html(item):
    if item.product_id and VIEW_PRODUCT_PERMISSION in _grid_reader_may.get():
        return format_html('<a href="{}">{}</a>', row_url("admin:orders_product_change", item.product_id), item.sku)
    return item.sku


@admin.register(OrderLog)
class OrderLogAdmin(LongListAdmin, admin.ModelAdmin):
    """Every Order Log line across orders (R-GRID-5), e.g. all errors of the last 24 hours."""

    list_display = ("time_column", "order_link", "account", "type_column", "initiator_column", "message")
    list_filter = ("type", "initiator", ("created_at", admin.DateFieldListFilter), "order__account")
    # The order # exactly, through its index: a case-insensitive match, or one in the messages, reads
    # every one of millions of lines (11.6 s at 5,000,000); the filters narrow by everything else.
    search_fields = ("order__channel_order_id__exact",)
    search_help_text = "The channel order # (all of it)."
    list_select_related = ("order__account",)
    list_per_page = 100
    date_hierarchy = None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # append-only

    @admin.display(description="Time", ordering="created_at")
    def time_column(self, log: OrderLog):
        return operator_datetime(log.created_at, seconds=True)

    @admin.display(description="Order")
    def order_link(self, log: OrderLog):
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:orders_order_change", args=[log.order_id]), log.order.channel_order_id
        )

    @admin.display(description="Account")
    def account(self, log: OrderLog):
        return log.order.account.title

    @admin.display(description="Type", ordering="type")
    def type_column(self, log: OrderLog):
        return format_html('<span class="log-{}">{}</span>', log.type, log.get_type_display())

    @admin.display(description="Initiator")
    def initiator_column(self, log: OrderLog):
        return log.get_initiator_display()


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("sku", "name", "stock_qty", "reserved_qty", "available_qty")
    search_fields = ("sku", "name")


class CarrierFilter(admin.SimpleListFilter):
    """The carriers operators pick from, not Django's default of every distinct value in the table
    (a scan of every shipment ever made, for each page)."""

    title = "carrier"
    parameter_name = "carrier__exact"

    def lookups(self, request: HttpRequest, model_admin):
        return [(carrier, carrier) for carrier in carrier_choices()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Shipment]) -> QuerySet[Shipment]:
        return queryset.filter(carrier=self.value()) if self.value() else queryset


@admin.register(Shipment)
class ShipmentAdmin(LongListAdmin, admin.ModelAdmin):
    list_display = ("order", "carrier", "tracking_number", "shipped_at", "source", "sync_state")
    list_select_related = ("order",)
    list_filter = ("source", "sync_state", CarrierFilter)
    search_fields = ("tracking_number", "order__channel_order_id")  # matched by get_search_results
    search_help_text = "A tracking # or a channel order # (all of it)."
    readonly_fields = [field.name if field.name != "tracking_url" else "tracking_link" for field in Shipment._meta.fields]

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[Shipment], search_term: str):
        return shipments_matching(queryset, search_term), False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # a correction is a new, logged change, never an edit

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # what happened stays

    @admin.display(description="Tracking URL")
    def tracking_link(self, shipment: Shipment):
        return http_link(shipment.tracking_url)


@admin.register(BulkJob)
class BulkJobAdmin(LongListAdmin, admin.ModelAdmin):
    """Bulk actions, those run in the background and those run at once: what each went through, did
    and skipped, and per order what the channel said."""

    list_display = ("created_at", "label", "progress", "done_column", "skipped_column", "state", "created_by")
    list_select_related = ("created_by",)
    list_filter = ("state", "action")
    readonly_fields = ("label", "progress", "count_note", "state", "summary", "orders_by_outcome", "error",
                       "created_by", "created_at", "finished_at")
    fields = readonly_fields
    shown_per_outcome = 100

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_urls(self):
        retry = path("<int:job_id>/retry/", self.admin_site.admin_view(self.retry_failed_view),
                     name="orders_bulkjob_retry")
        return [retry] + super().get_urls()

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # what happened stays

    @admin.display(description="Orders gone through")
    def progress(self, job: BulkJob):
        """Orders gone through / orders selected; a "select all" job counts its orders once it starts."""
        if not job.counted:
            return "not counted yet"
        return f"{job.processed} / {job.total}"

    @admin.display(description="Orders counted")
    def count_note(self, job: BulkJob):
        """How many it took against what its confirmation page said, and why they differ."""
        note = bulk_job_count_note(job)
        if note or job.shown_count is None or (job.filters is not None and job.counted_at_start is None):
            return note or "—"
        return f"{job.shown_count:,}, as the confirmation page said."

    @admin.display(description="Done or queued")
    def done_column(self, job: BulkJob):
        action = ACTIONS.get(job.action)
        return f"{job.done} {action.done_word if action else 'done'}"

    @admin.display(description="Skipped")
    def skipped_column(self, job: BulkJob):
        """How many, and the most frequent reason (all of them on the job's page)."""
        skipped = sum(job.skipped.values())
        if not skipped:
            return "0"
        reasons = sorted(job.skipped.items(), key=lambda entry: -entry[1])
        (reason, count), others = reasons[0], len(reasons) - 1
        first = reason if not others else f"{count} × {reason}; {others} other reason{'s' if others > 1 else ''}"
        return format_html('<span title="{}">{} — {}</span>', "\n".join(f"{n} × {why}" for why, n in reasons),
                           skipped, first)

    @admin.display(description="Result")
    def summary(self, job: BulkJob):
        return bulk_job_summary(job)

    @admin.display(description="Orders")
    def orders_by_outcome(self, job: BulkJob):
        outcomes = bulk_job_order_outcomes(job)
        if not outcomes:
            unfinished = job.state in (BulkJob.State.QUEUED, BulkJob.State.RUNNING)
            return "No channel action queued yet." if unfinished else "No channel actions."
        by_outcome = {outcome: [pk for pk, value in outcomes.items() if value == outcome]
                      for outcome in (Outcome.FAILED, Outcome.WAITING, Outcome.DONE)}
        shown = [pk for ids in by_outcome.values() for pk in ids[: self.shown_per_outcome]]
        orders = dict(Order.objects.filter(pk__in=shown).values_list("pk", "channel_order_id"))
        html = mark_safe("")
        titles = {Outcome.FAILED: "Failed", Outcome.WAITING: "Waiting for the channel", Outcome.DONE: "Done"}
        for outcome, ids in by_outcome.items():
            if not ids:
                continue
            title = titles[outcome]
            links = format_html_join(", ", '<a href="{}">{}</a>', (
                (reverse("admin:orders_order_change", args=[pk]), orders.get(pk, pk)) for pk in ids[: self.shown_per_outcome]
            ))
            more = f" and {len(ids) - self.shown_per_outcome} more" if len(ids) > self.shown_per_outcome else ""
            retry = format_html(' <a class="button" id="retry-failed" href="{}">Retry the failed ones</a>',
                                reverse("admin:orders_bulkjob_retry", args=[job.pk])) if outcome == Outcome.FAILED else ""
            html += format_html('<p class="bulk-outcome-{}"><strong>{}: {}</strong>{}<br>{}{}</p>',
                                outcome, title, len(ids), retry, links, more)
        return html

    def retry_failed_view(self, request: HttpRequest, job_id: int) -> HttpResponse:
        """Retry Failed Sync on the job's orders whose channel action failed, after the usual confirmation."""
        if not request.user.has_perm("orders.operate_order"):
            raise PermissionDenied
        job = get_object_or_404(BulkJob, pk=job_id)
        failed = [pk for pk, outcome in bulk_job_order_outcomes(job).items() if outcome == Outcome.FAILED]
        back = reverse("admin:orders_bulkjob_change", args=[job.pk])
        response = confirm_then_run(self, request, lambda: failed, action=ACTIONS["retry_failed_sync"],
                                    count=len(failed), hidden={}, orders=Order.objects.filter(pk__in=failed))
        if response is None:
            return HttpResponseRedirect(back)
        response.context_data["back_url"] = back
        return response


@admin.register(ChannelAction)
class ChannelActionAdmin(LongListAdmin, admin.ModelAdmin):
    """The outbox, for support: what was sent, how often, and what the channel said."""

    list_display = ("number", "order_link", "account", "kind", "state", "attempts_column", "next_attempt_column",
                    "finished_column", "last_error")
    list_filter = ("state", "kind", "account")
    list_select_related = ("order", "account")
    search_fields = ("order__channel_order_id__exact",)  # through the order's index, not a scan of every order
    search_help_text = "The channel order # (all of it)."
    ordering = ("-pk",)  # the latest first: what support asks about
    list_per_page = 50  # the page's time is mostly its rows' rendering (100 rows took 100–200 ms here)
    actions = ["retry_failed_action"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_operate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("orders.operate_order")

    @admin.display(description="Action #", ordering="pk")
    def number(self, action: ChannelAction):
        return action.pk

    @admin.display(description="Order", ordering="order")
    def order_link(self, action: ChannelAction):
        return format_html('<a href="{}">{}</a>', reverse("admin:orders_order_change", args=[action.order_id]),
                           action.order.channel_order_id)

    @admin.display(description="Attempts", ordering="attempts")
    def attempts_column(self, action: ChannelAction):
        """Every attempt made: an operator's retry starts the count against the limit again, but the
        attempts before it happened too (a retried action read "Succeeded, 1 attempt" before)."""
        if action.attempts_before_retry:
            return f"{action.attempts} since the last retry ({action.attempts + action.attempts_before_retry} in all)"
        return action.attempts

    @admin.display(description="Next attempt at")
    def next_attempt_column(self, action: ChannelAction):
        """Only for an action still to be tried, or whose answer is still to be read from the channel:
        a settled or in-flight action has no next attempt."""
        if action.state == ChannelAction.State.PENDING:
            return operator_datetime(action.next_attempt_at)
        if action.state == ChannelAction.State.SUBMITTED:
            return f"{operator_datetime(action.next_attempt_at)} (asks the channel for its answer)"
        return ""

    @admin.display(description="Finished at")
    def finished_column(self, action: ChannelAction):
        """When it succeeded, or when its last attempt failed (until Retry Failed Sync queues it again)."""
        if action.state == ChannelAction.State.SUCCEEDED:
            return operator_datetime(action.completed_at or action.updated_at)
        if action.state == ChannelAction.State.FAILED:
            return operator_datetime(action.updated_at)
        return ""

    @admin.action(description="Retry Failed Sync of their orders", permissions=["operate"])
    def retry_failed_action(self, request: HttpRequest, queryset: QuerySet[ChannelAction]):
        orders = Order.objects.filter(pk__in=queryset.filter(state=ChannelAction.State.FAILED).values("order_id"))
        return confirm_then_run(
            self, request, lambda: list(orders.order_by("pk").values_list("pk", flat=True)),
            action=ACTIONS["retry_failed_sync"], count=orders.count(), hidden=bulk_hidden_fields(request),
            orders=orders,
        )
