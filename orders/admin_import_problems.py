"""Import problems in the admin (issue 8 §1): read-only, filterable by account and open/resolved.
The raw payload is the channel's data, shown escaped; an operator can only dismiss a problem the
channel will never send again, which is recorded, never deleted."""

from django.contrib import admin, messages
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from .admin_lists import LongListAdmin
from .models import ImportProblem
from .services.import_problems import import_problems_dismiss


class ProblemStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("open", "Open"), ("resolved", "Resolved")]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(resolved_at__isnull=True)
        if self.value() == "resolved":
            return queryset.filter(resolved_at__isnull=False)
        return queryset


@admin.register(ImportProblem)
class ImportProblemAdmin(LongListAdmin, admin.ModelAdmin):
    list_display = ("last_seen_at", "account", "order_id", "error", "times_seen", "first_seen_at", "status")
    list_filter = (ProblemStatusFilter, "account")
    list_select_related = ("account",)
    search_fields = ("channel_order_id",)
    fields = ("account", "channel_order_id", "error", "status", "resolution", "first_seen_at", "last_seen_at",
              "times_seen", "resolved_at", "payload")
    readonly_fields = fields
    actions = ["dismiss"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_dismiss_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("orders.change_importproblem")

    @admin.display(description="channel order #", ordering="channel_order_id")
    def order_id(self, problem: ImportProblem) -> str:
        return problem.channel_order_id or "(none in the payload)"

    @admin.display(description="status", ordering="resolved_at")
    def status(self, problem: ImportProblem):
        if problem.is_open:
            return format_html('<strong style="color:#c62828">{}</strong>', "Open")
        return "Resolved"

    @admin.display(description="raw payload (as the channel sent it)")
    def payload(self, problem: ImportProblem):
        return format_html('<pre style="white-space:pre-wrap;max-height:40em;overflow:auto">{}</pre>',
                           problem.raw_payload)

    @admin.action(description="Dismiss (the channel will not send this order again)", permissions=["dismiss"])
    def dismiss(self, request: HttpRequest, queryset):
        count = import_problems_dismiss(problem_ids=queryset.values_list("pk", flat=True),
                                        user_name=request.user.get_username())
        self.message_user(request, f"{count} import problem(s) dismissed.", messages.SUCCESS)


def open_import_problems_link(request: HttpRequest) -> dict:
    """For the order grid: how many orders are kept aside, linked to their list (issue 8 §1)."""
    if not request.user.has_perm("orders.view_importproblem"):
        return {}
    count = ImportProblem.objects.filter(resolved_at__isnull=True).count()
    if not count:
        return {}
    return {"open_import_problems": count,
            "import_problems_url": reverse("admin:orders_importproblem_changelist") + "?status=open"}
