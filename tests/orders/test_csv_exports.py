"""Large CSV exports run in the background (issue 14): the page answers at once, the file is written
in chunks with progress, downloaded by whoever may see the grid, and expires; small ones stream."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from creditmemos.rules import MemoInput
from creditmemos.services import credit_memo_create
from orders.exports import orders_csv_lines
from orders.models import ChannelAction, CsvExport, OrderStatus
from orders.selectors import order_list
from orders.services.csv_exports import csv_export_write, csv_exports_expire, export_path
from orders.tasks import expire_csv_exports
from tests.factories import create_order
from tests.money import Line, item_ids, order_with_lines

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


def _export(orders) -> list[dict]:
    return list(csv.DictReader(io.StringIO("".join(orders_csv_lines(orders=orders)))))


def test_r_grid_3_the_export_gives_the_money_canceled_and_refunded_as_the_channel_confirmed_it(walmart_account):
    """An accountant's columns: units canceled and their money (price + their share of tax and shipping),
    the refunds the channel confirmed, and in columns of their own a refund on its way and one that
    failed to get there (the buyer is not paid back until it is retried)."""
    order = order_with_lines(walmart_account, Line(qty=2, price="10.00", tax="2.00", shipping="4.00", shipped=1,
                                                   canceled=1),
                             Line(qty=1, price="30.00", shipped=1))
    untouched = create_order(account=walmart_account, status=OrderStatus.UNSHIPPED)
    _, second = item_ids(order)
    credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={second: 1}))
    ChannelAction.objects.filter(order=order, kind=ChannelAction.Kind.REFUND).update(
        state=ChannelAction.State.SUCCEEDED)  # as Walmart's confirmation is recorded
    credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={}, shipping_refund=Decimal("2.00")))
    refused = order_with_lines(walmart_account, Line(qty=1, price="7.00", shipped=1))
    credit_memo_create(order_id=refused.pk, memo=MemoInput(quantities={item_ids(refused)[0]: 1}))
    ChannelAction.objects.filter(order=refused, kind=ChannelAction.Kind.REFUND).update(
        state=ChannelAction.State.FAILED, last_error="400 from Walmart")

    rows = {row["Channel Order #"]: row for row in _export(order_list())}

    money = ["Total Paid", "Canceled Units", "Canceled Amount", "Refunded", "Refund On Its Way", "Refund Failed"]
    assert [rows[order.channel_order_id][name] for name in money] == ["56.00", "1", "13.00", "30.00", "2.00", ""]
    assert [rows[refused.channel_order_id][name] for name in money] == ["7.00", "0", "0.00", "0.00", "", "7.00"]
    assert [rows[untouched.channel_order_id][name] for name in money[1:]] == ["0", "0.00", "0.00", "", ""]


@pytest.mark.parametrize("orders", [2, 5])
def test_r_grid_3_the_export_reads_a_fixed_number_of_queries_per_chunk(walmart_account, orders,
                                                                       django_assert_num_queries):
    """The orders, then their items and their unsettled channel actions once per chunk, whatever each
    order holds: canceled units, refunds confirmed and on their way."""
    for _ in range(orders):
        order = order_with_lines(walmart_account, Line(qty=2, price="10.00", shipped=1, canceled=1),
                                 Line(qty=1, price="5.00", shipped=1))
        credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={item_ids(order)[1]: 1}))
    chunks = -(-orders // 2)
    with django_assert_num_queries(1 + 2 * chunks):
        rows = list(orders_csv_lines(orders=order_list(), chunk_size=2))
    assert len(rows) == orders + 1
