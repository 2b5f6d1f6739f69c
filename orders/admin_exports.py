"""CSV exports in the admin (issue 14): the grid's Export CSV, answered at once for small results
and written in the background for large ones; the list shows progress and the download link.
Whoever may see the grid may export it and download exports."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from .exports import orders_csv_lines
from .models import CsvExport, Order
from .services.csv_exports import csv_export_start, export_is_large, export_path


def csv_answer(*, modeladmin: admin.ModelAdmin, request: HttpRequest, orders: QuerySet[Order]) -> HttpResponse:
    """The CSV itself, streamed, or — for a large result — a background export and a page to follow it."""
    if not export_is_large(orders=orders):
        response = StreamingHttpResponse(orders_csv_lines(orders=orders), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="orders-{timezone.now():%Y%m%d-%H%M%S}.csv"'
        return response
    csv_export_start(filters=request.GET, user=request.user)
    modeladmin.message_user(request, format_html(
        "Export CSV: more than {} orders, so it is being written in the background; "
        '<a href="{}">download it from here</a> when it is ready.',
        f"{settings.CSV_EXPORT_INLINE_ROWS - 1:,}",
        reverse("admin:orders_csvexport_changelist")), messages.INFO)
    return HttpResponseRedirect(reverse("admin:orders_csvexport_changelist"))


@admin.register(CsvExport)
class CsvExportAdmin(admin.ModelAdmin):
    list_display = ("created_at", "created_by", "progress", "state", "download", "expires_at")
    list_select_related = ("created_by",)
    list_filter = ("state",)
    readonly_fields = ("created_by", "created_at", "filters", "state", "progress", "download", "finished_at",
                       "expires_at", "error")
    fields = readonly_fields
    show_full_result_count = False

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.has_perm("orders.view_order")  # the grid's own permission

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # files expire by themselves; who exported what stays

    def get_urls(self):
        download = path("<int:export_id>/download/", self.admin_site.admin_view(self.download_view),
                        name="orders_csvexport_download")
        return [download] + super().get_urls()

    @admin.display(description="Rows")
    def progress(self, export: CsvExport):
        return f"{export.rows_written:,} / {export.total:,}" if export.total else f"{export.rows_written:,}"

    @admin.display(description="File")
    def download(self, export: CsvExport):
        if export.state != CsvExport.State.READY:
            return "—"
        return format_html('<a href="{}">Download</a>', reverse("admin:orders_csvexport_download", args=[export.pk]))

    def download_view(self, request: HttpRequest, export_id: int) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        export = get_object_or_404(CsvExport, pk=export_id)
        path = export_path(export) if export.file_name else None
        if export.state != CsvExport.State.READY or path is None or not path.exists():
            raise Http404("This export is not ready, or its file has expired.")
        return FileResponse(path.open("rb"), as_attachment=True, filename=f"orders-export-{export.pk}.csv",
                            content_type="text/csv")
