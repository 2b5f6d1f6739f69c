from django.contrib import admin
from django.utils.html import format_html_join

from .forms import ChannelAccountForm
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
        "last_import_succeeded_at",
        "last_import_error",
        "last_import_error_at",
        "import_failing_since",
    )
    fieldsets = (
        (None, {"fields": ("channel", "title", "marketplace", "base_url", "seller_id", "is_active")}),
        ("Credentials", {"fields": ("stored_credentials", "client_id", "client_secret", "refresh_token")}),
        (
            "Order options",
            {"fields": ("create_store_order", "refund_on_credit_memo", "auto_invoice", "auto_shipment")},
        ),
        (
            "Sync",
            {
                "fields": (
                    "last_import_cursor",
                    "last_import_succeeded_at",
                    "last_import_error",
                    "last_import_error_at",
                    "import_failing_since",
                )
            },
        ),
    )

    @admin.display(description="Stored credentials (masked)")
    def stored_credentials(self, account: ChannelAccount):
        masked = account.masked_credentials if account.pk else {}
        if not masked:
            return "—"
        return format_html_join(", ", "{}: {}", sorted(masked.items()))

    @admin.display(description="Sync health")
    def health(self, account: ChannelAccount):
        return account_sync_health(account=account).summary
