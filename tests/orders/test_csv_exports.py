"""Large CSV exports run in the background (issue 14): the page answers at once, the file is written
in chunks with progress, downloaded by whoever may see the grid, and expires; small ones stream."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from orders.models import CsvExport, OrderStatus
from orders.services.csv_exports import csv_export_write, csv_exports_expire, export_path
from orders.tasks import expire_csv_exports
from tests.factories import create_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def exports(settings, tmp_path):
    settings.CSV_EXPORT_DIR = tmp_path
    settings.CSV_EXPORT_INLINE_ROWS = 3
    return tmp_path


def test_a_small_export_streams_at_once(admin_client, walmart_account, exports):
    create_order(account=walmart_account, buyer_name="Small Buyer")
    response = admin_client.get(reverse("admin:orders_order_export"))
    assert "Small Buyer" in b"".join(response.streaming_content).decode()
    assert not CsvExport.objects.exists()


def test_a_large_export_is_written_in_the_background_and_downloaded_when_ready(admin_client, walmart_account,
                                                                                 exports):
    for n in range(4):
        create_order(account=walmart_account, status=OrderStatus.UNSHIPPED, buyer_name=f"Buyer {n}")
    create_order(account=walmart_account, status=OrderStatus.CANCELED, buyer_name="Not Matching")

    response = admin_client.get(reverse("admin:orders_order_export"), {"status": OrderStatus.UNSHIPPED})
    assert response.status_code == 302 and response["Location"] == reverse("admin:orders_csvexport_changelist")
    export = CsvExport.objects.get()
    assert export.state == CsvExport.State.QUEUED and export.filters == {"status": [OrderStatus.UNSHIPPED]}
    assert b"Download" not in admin_client.get(reverse("admin:orders_csvexport_changelist")).content

    csv_export_write(export_id=export.pk)  # what the worker does

    export.refresh_from_db()
    assert (export.state, export.rows_written, export.total) == (CsvExport.State.READY, 4, 4)
    listing = admin_client.get(reverse("admin:orders_csvexport_changelist")).content.decode()
    assert "4 / 4" in listing and reverse("admin:orders_csvexport_download", args=[export.pk]) in listing
    body = b"".join(admin_client.get(reverse("admin:orders_csvexport_download", args=[export.pk]))).decode()
    assert all(f"Buyer {n}" in body for n in range(4)) and "Not Matching" not in body


def test_downloads_follow_the_grid_permission(client, django_user_model, walmart_account, exports):
    create_order(account=walmart_account)
    export = CsvExport.objects.create()
    csv_export_write(export_id=export.pk)
    staff = django_user_model.objects.create_user("nobody", is_staff=True)
    client.force_login(staff)
    assert client.get(reverse("admin:orders_csvexport_download", args=[export.pk])).status_code == 403


def test_export_files_expire_and_the_record_stays(admin_client, walmart_account, exports):
    create_order(account=walmart_account)
    export = CsvExport.objects.create()
    export = csv_export_write(export_id=export.pk)
    path = export_path(export)
    assert path.exists()
    assert csv_exports_expire() == 0  # not yet
    CsvExport.objects.filter(pk=export.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))

    assert expire_csv_exports() == 1

    export.refresh_from_db()
    assert export.state == CsvExport.State.EXPIRED and not path.exists()
    assert admin_client.get(reverse("admin:orders_csvexport_download", args=[export.pk])).status_code == 404
