"""Large CSV exports of the grid (issue 14): written by a worker to a file, in chunks, with progress
on the export's row; downloaded from the admin once ready; the file expires after
CSV_EXPORT_KEEP_HOURS. An export of fewer than CSV_EXPORT_INLINE_ROWS orders streams at once
in the page's answer (orders.admin)."""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils import timezone

from ..exports import orders_csv_lines
from ..handoff import hand_off
from ..models import CsvExport, Order
from ..selectors import order_list

PROGRESS_EVERY = 10_000  # rows between two progress saves


def export_is_large(*, orders: QuerySet[Order]) -> bool:
    """Counts at most one row past the limit, whatever the size of the result."""
    return orders.order_by()[:settings.CSV_EXPORT_INLINE_ROWS].count() >= settings.CSV_EXPORT_INLINE_ROWS


def csv_export_start(*, filters: QueryDict, user: AbstractBaseUser | None) -> CsvExport:
    with transaction.atomic():
        export = CsvExport.objects.create(filters={name: filters.getlist(name) for name in filters},
                                          created_by=user if user and user.pk else None)
        hand_off("orders.tasks.write_csv_export", export.pk)
    return export


def export_path(export: CsvExport) -> Path:
    return Path(settings.CSV_EXPORT_DIR) / export.file_name


def csv_export_write(*, export_id: int) -> CsvExport:
    """Write the file (again from the start if a worker died half-way), saving progress as it goes."""
    export = CsvExport.objects.get(pk=export_id)
    if export.state != CsvExport.State.QUEUED and export.state != CsvExport.State.RUNNING:
        return export
    query = QueryDict(mutable=True)
    for name, values in export.filters.items():
        query.setlist(name, values)
    orders = order_list(filters=query)
    export.state, export.rows_written = CsvExport.State.RUNNING, 0
    export.total = orders.order_by().count()
    export.file_name = export.file_name or f"orders-{export.pk}-{secrets.token_hex(8)}.csv"
    export.save(update_fields=["state", "rows_written", "total", "file_name"])
    path = export_path(export)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("w", encoding="utf-8", newline="") as file:
            for number, line in enumerate(orders_csv_lines(orders=orders)):
                file.write(line)
                if number and number % PROGRESS_EVERY == 0:
                    CsvExport.objects.filter(pk=export.pk).update(rows_written=number)
            rows = number  # the header is line 0
    except Exception as failure:
        CsvExport.objects.filter(pk=export.pk).update(state=CsvExport.State.FAILED, finished_at=timezone.now(),
                                                      error=f"{type(failure).__name__}: {failure}"[:2000])
        path.unlink(missing_ok=True)
        raise
    now = timezone.now()
    CsvExport.objects.filter(pk=export.pk).update(
        state=CsvExport.State.READY, rows_written=rows, total=max(rows, export.total), finished_at=now,
        expires_at=now + dt.timedelta(hours=settings.CSV_EXPORT_KEEP_HOURS))
    export.refresh_from_db()
    return export


def csv_exports_expire() -> int:
    """Remove the files of exports past their time (the rows stay, marked expired)."""
    expired = list(CsvExport.objects.filter(state=CsvExport.State.READY, expires_at__lte=timezone.now()))
    for export in expired:
        export_path(export).unlink(missing_ok=True)
    return CsvExport.objects.filter(pk__in=[export.pk for export in expired]).update(state=CsvExport.State.EXPIRED)
