"""Needs attention: orders on which we and the channel disagree, with a one-click resync or resend."""

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from channels.models import ChannelAccount
from orders.admin_import_problems import ProblemStatusFilter
from orders.datetimes import operator_datetime
from orders.services.errors import OrderActionRefused

from . import reconciliation
from .models import Discrepancy, ReconciliationRun
from .views import RECONCILE_PERMISSION, needs_attention_crumbs

FIXES = {"resync": reconciliation.discrepancy_resync, "resend": reconciliation.discrepancy_resend}
FIX_WORDS = {"resync": ("Resync", "Import the order again from the channel?"),
             "resend": ("Resend", "Send our side to the channel again (failed actions, or the shipping information)?")}
FIX_HELP = {"resync": "Take the channel's version: import this order again from the channel",
            "resend": "Keep ours: send our failed changes (or the shipping information) to the channel again"}


@admin.register(Discrepancy)
class DiscrepancyAdmin(admin.ModelAdmin):
    list_display = ("order_link", "account", "summary", "first_seen", "last_seen", "state", "fix_buttons")
    list_filter = (ProblemStatusFilter, "account")  # open / resolved, by resolved_at
    list_select_related = ("order", "account")
    search_fields = ("=order__channel_order_id",)
    show_full_result_count = False
    list_per_page = 100
    change_list_template = "admin/cockpit/discrepancy/change_list.html"
    # The differences in words (the summary), not as the JSON they are stored in.
    readonly_fields = ("order_link", "account", "summary", "first_seen_at", "last_seen_at",
                       "last_step", "resolved_at", "resolution", "fix_links")
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # resolved, never deleted

    def has_reconcile_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(RECONCILE_PERMISSION)

    @admin.display(description="Order")
    def order_link(self, discrepancy: Discrepancy):
        return format_html('<a href="{}">{}</a>', reverse("admin:orders_order_change", args=[discrepancy.order_id]),
                           discrepancy.order.channel_order_id)

    @admin.display(description="First seen", ordering="first_seen_at")
    def first_seen(self, discrepancy: Discrepancy) -> str:
        return operator_datetime(discrepancy.first_seen_at)

    @admin.display(description="Last seen", ordering="last_seen_at")
    def last_seen(self, discrepancy: Discrepancy) -> str:
        return operator_datetime(discrepancy.last_seen_at)

    @admin.display(description="State")
    def state(self, discrepancy: Discrepancy):
        if discrepancy.resolved_at:
            return f"Resolved — {discrepancy.resolution}"
        return discrepancy.last_step or "Open"

    @admin.display(description="Fix")
    def fix_buttons(self, discrepancy: Discrepancy):
        """Buttons of the list's own form (its CSRF token), each posting to its fix: one click."""
        if discrepancy.resolved_at:
            return ""
        return format_html_join(" ", '<button type="submit" formaction="{}" class="fix-{}" title="{}">{}</button>',
                                self._fixes(discrepancy))

    @staticmethod
    def _fixes(discrepancy: Discrepancy):
        """Resync always; Resend only when there is something of ours to send (it would refuse)."""
        for fix, (word, _question) in FIX_WORDS.items():
            if fix != "resend" or discrepancy.has_something_to_resend:
                yield reverse(f"admin:cockpit_discrepancy_{fix}", args=[discrepancy.pk]), fix, FIX_HELP[fix], word

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).annotate(has_something_to_resend=reconciliation.has_something_to_resend())

    @admin.display(description="Fix")
    def fix_links(self, discrepancy: Discrepancy):
        """On its own page: links to each fix's confirmation (the page has no form of its own)."""
        if discrepancy.resolved_at:
            return "Resolved"
        return format_html_join(" · ", '<a href="{}" class="fix-{}" title="{}">{}</a>', self._fixes(discrepancy))

    def get_list_display(self, request: HttpRequest):
        shown = super().get_list_display(request)
        return shown if self.has_reconcile_permission(request) else [name for name in shown if name != "fix_buttons"]

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        runs = _latest_runs()
        extra_context = {**(extra_context or {}), "can_reconcile": self.has_reconcile_permission(request),
                         "grace_minutes": settings.RECONCILE_GRACE_MINUTES,
                         "accounts_runs": [(account, runs.get(account.pk))
                                           for account in ChannelAccount.objects.order_by("title")]}
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        return [
            path("<int:discrepancy_id>/resync/", self.admin_site.admin_view(self.fix_view), {"fix": "resync"},
                 name="cockpit_discrepancy_resync"),
            path("<int:discrepancy_id>/resend/", self.admin_site.admin_view(self.fix_view), {"fix": "resend"},
                 name="cockpit_discrepancy_resend"),
        ] + super().get_urls()

    def fix_view(self, request: HttpRequest, discrepancy_id: int, fix: str) -> HttpResponse:
        if not self.has_reconcile_permission(request):
            raise PermissionDenied
        discrepancy = get_object_or_404(Discrepancy.objects.select_related("order"), pk=discrepancy_id)
        back = reverse("admin:cockpit_discrepancy_changelist") + "?status=open"
        word, question = FIX_WORDS[fix]
        if request.method != "POST":
            crumbs = [*needs_attention_crumbs(),
                      (str(discrepancy), reverse("admin:cockpit_discrepancy_change", args=[discrepancy.pk]))]
            return TemplateResponse(request, "admin/cockpit/confirm.html", {
                **self.admin_site.each_context(request), "title": f"{word} order {discrepancy.order.channel_order_id}?",
                "question": question, "button": word, "back_url": back, "crumbs": crumbs})
        try:
            discrepancy = FIXES[fix](discrepancy_id=discrepancy.pk, user=request.user)
        except OrderActionRefused as refusal:
            self.message_user(request, f"{word} of {discrepancy.order.channel_order_id} refused: {str(refusal).rstrip('.')}.",
                              messages.ERROR)
        else:
            outcome = discrepancy.resolution if discrepancy.resolved_at else discrepancy.last_step
            mended = discrepancy.resolved_at or fix == "resend"  # a resend is queued, judged by the next run
            self.message_user(request, f"{word} of {discrepancy.order.channel_order_id}: {outcome.rstrip('.')}.",
                              messages.SUCCESS if mended else messages.WARNING)
        return HttpResponseRedirect(back)


def _latest_runs() -> dict[int, ReconciliationRun]:
    """Each account's latest reconciliation run, in one query."""
    from django.db.models import Max

    latest = ReconciliationRun.objects.values("account").annotate(last=Max("pk")).values("last")
    return {run.account_id: run for run in ReconciliationRun.objects.filter(pk__in=latest)}

