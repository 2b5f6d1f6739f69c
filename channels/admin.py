from django.contrib import admin
from django.http import HttpRequest

from .forms import DESTINATION_FIELDS, SECRET_FIELDS, ChannelAccountForm, ChannelAccountOptionsForm
from .models import ChannelAccount, Marketplace
from .selectors import account_sync_health


@admin.register(Marketplace)
class MarketplaceAdmin(admin.ModelAdmin):
    list_display = ("name", "channel", "code", "currency")
    list_filter = ("channel",)


@admin.register(ChannelAccount)
class ChannelAccountAdmin(admin.ModelAdmin):
    form = ChannelAccountForm
    list_display = ("title", "channel", "marketplace", "is_active", "last_import_succeeded_at", "health")
    list_filter = ("channel", "is_active")
    list_select_related = ("marketplace",)
    readonly_fields = (
        "stored_credentials",
        "last_import_cursor",
        "last_import_started_at",
        "last_import_succeeded_at",
        "last_import_error",
        "last_import_error_at",
        "import_failing_since",
        "import_failures",
        "import_retry_at",
    )
    fieldsets = (
        (None, {"fields": ("channel", "title", "marketplace", "base_url", "token_url", "orders_api", "seller_id",
                           "is_active")}),
        ("Credentials", {"fields": ("stored_credentials", *SECRET_FIELDS)}),
        (
            "Order options",
            {"fields": ("create_store_order", "refund_on_credit_memo", "auto_invoice", "auto_shipment",
                        "auto_cancel_days")},
        ),
        (
            "Sync",
            {
                "fields": (
                    "last_import_cursor",
                    "last_import_started_at",
                    "last_import_succeeded_at",
                    "last_import_error",
                    "last_import_error_at",
                    "import_failing_since",
                    "import_failures",
                    "import_retry_at",
                )
            },
        ),
    )

    def has_credentials_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("channels.change_credentials")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and self.has_credentials_permission(request)

    def get_form(self, request: HttpRequest, obj=None, change: bool = False, **kwargs):
        kwargs["form"] = ChannelAccountForm if self.has_credentials_permission(request) else ChannelAccountOptionsForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj=None):
        if self.has_credentials_permission(request):
            return self.fieldsets
        return [
            (name, {**options, "fields": [f for f in options["fields"] if f not in SECRET_FIELDS]})
            for name, options in self.fieldsets
        ]

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        if self.has_credentials_permission(request):
            return self.readonly_fields
        return (*DESTINATION_FIELDS, *self.readonly_fields)

    @admin.display(description="Stored credentials")
    def stored_credentials(self, account: ChannelAccount):
        """Only whether each credential is set: nothing of a value, to anyone."""
        if not account.pk:
            return "—"
        if not account.credentials_readable:
            return "Cannot be decrypted with the configured keys: type them again, or configure the old key."
        status = account.credential_status()
        return ", ".join(f"{name}: {'set' if status.get(name) else 'not set'}" for name in SECRET_FIELDS)

    @admin.display(description="Sync health")
    def health(self, account: ChannelAccount):
        return account_sync_health(account=account).summary
