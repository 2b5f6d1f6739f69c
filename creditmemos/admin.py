from django.contrib import admin

from .models import CreditMemo, CreditMemoItem


class CreditMemoItemInline(admin.TabularInline):
    model = CreditMemoItem
    extra = 0
    can_delete = False
    readonly_fields = ("order_item", "action", "qty", "amount", "tax")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CreditMemo)
class CreditMemoAdmin(admin.ModelAdmin):
    list_display = ("pk", "order", "channel_action", "grand_total", "state", "created_at")
    list_filter = ("state", "channel_action")
    list_select_related = ("order",)
    search_fields = ("=order__channel_order_id",)
    inlines = [CreditMemoItemInline]
    readonly_fields = [field.name for field in CreditMemo._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False  # created from the order page through the credit memo service

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
