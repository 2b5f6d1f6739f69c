"""The channel account admin, extended with what orders knows: sync health with waiting and failed
actions (R-SYNC-5), Import now and Order Reimport (R-SYNC-6). channels/ stays unaware of orders."""

import datetime as dt

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from channels.admin import ChannelAccountAdmin
from channels.models import ChannelAccount

from .handoff import hand_off
from .selectors import (
    account_health,
    account_ids_not_in_sync,
    accounts_with_sync_counts,
)
from .services.errors import OrderActionRefused
from .services.importing import validate_reimport_range
from .tasks import import_account_orders, reimport_account_orders


class ReimportForm(forms.Form):
    created_from = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="Orders created from")
    created_to = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="to")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("created_from") and cleaned.get("created_to"):
            try:
                validate_reimport_range(created_from=self.start, created_to=self.end)
            except OrderActionRefused as refusal:
                raise forms.ValidationError(f"{str(refusal).capitalize()}.") from None
        return cleaned

    @property
    def start(self) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(self.cleaned_data["created_from"], dt.time.min))

    @property
    def end(self) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(self.cleaned_data["created_to"], dt.time.max))


class InSyncFilter(admin.SimpleListFilter):
    """Today's "accounts not in sync" opens this list with in_sync=no: the same accounts it counts."""

    title = "in sync"
    parameter_name = "in_sync"

    def lookups(self, request: HttpRequest, model_admin):
        return [("no", "Not in sync"), ("yes", "In sync")]

    def queryset(self, request: HttpRequest, queryset):
        if self.value() == "no":
            return queryset.filter(pk__in=account_ids_not_in_sync())
        if self.value() == "yes":
            return queryset.exclude(pk__in=account_ids_not_in_sync())
        return queryset


admin.site.unregister(ChannelAccount)


@admin.register(ChannelAccount)
class ChannelAccountOperationsAdmin(ChannelAccountAdmin):
    list_display = ("title", "channel", "marketplace", "is_active", "last_import_succeeded_at", "health",
                    "open_import_problems", "waiting_actions", "failed_actions")
    list_filter = (*ChannelAccountAdmin.list_filter, InSyncFilter)
    actions = ["import_now"]
    change_form_template = "admin/channels/channelaccount/change_form.html"

    def get_queryset(self, request: HttpRequest):
        return accounts_with_sync_counts(super().get_queryset(request))

    @admin.display(description="Sync health")
    def health(self, account: ChannelAccount):
        health = account_health(account)
        if health.is_failing:
            return format_html('<strong style="color:#c62828">{}</strong>', health.summary)
        return health.summary

    @admin.display(description="Import problems", ordering="open_problems")
    def open_import_problems(self, account: ChannelAccount):
        if not account.open_problems:
            return 0
        url = reverse("admin:orders_importproblem_changelist") + f"?account__id__exact={account.pk}&status=open"
        return format_html('<a href="{}" style="color:#c62828">{}</a>', url, account.open_problems)

    @admin.display(description="Waiting on channel", ordering="waiting")
    def waiting_actions(self, account: ChannelAccount) -> int:
        return account.waiting

    @admin.display(description="Failed actions", ordering="failed")
    def failed_actions(self, account: ChannelAccount):
        if not account.failed:
            return 0
        url = reverse("admin:orders_channelaction_changelist") + f"?account__id__exact={account.pk}&state__exact=failed"
        return format_html('<a href="{}" style="color:#c62828">{}</a>', url, account.failed)

    def has_import_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("channels.import_orders")

    @admin.action(description="Import orders now", permissions=["import"])
    def import_now(self, request: HttpRequest, queryset):
        ids = list(queryset.filter(is_active=True).values_list("pk", flat=True))
        with transaction.atomic():
            for pk in ids:
                hand_off(import_account_orders.name, pk, True)  # now=True: even while backing off
        self.message_user(request, f"Import queued for {len(ids)} account(s).", messages.SUCCESS)

    def render_change_form(self, request: HttpRequest, context: dict, *args, **kwargs):
        context["can_import"] = self.has_import_permission(request)
        return super().render_change_form(request, context, *args, **kwargs)

    def get_urls(self):
        return [
            path("<int:account_id>/reimport/", self.admin_site.admin_view(self.reimport_view),
                 name="channels_channelaccount_reimport"),
        ] + super().get_urls()

    def reimport_view(self, request: HttpRequest, account_id: int):
        """Order Reimport (R-SYNC-6): every order created in a date range, up to 90 days back."""
        account = get_object_or_404(ChannelAccount, pk=account_id)
        if not self.has_import_permission(request):
            raise PermissionDenied
        form = ReimportForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            start, end = form.start, form.end
            hand_off(reimport_account_orders.name, account.pk, start.isoformat(), end.isoformat())
            self.message_user(request, f"Reimport of orders created {start:%Y-%m-%d} – {end:%Y-%m-%d} queued for "
                              f"{account.title}.", messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:channels_channelaccount_change", args=[account.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Order Reimport: {account.title}",
            "opts": self.opts,
            "form": form,
            "account": account,
        }
        return TemplateResponse(request, "admin/channels/channelaccount/reimport.html", context)
