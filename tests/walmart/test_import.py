"""Walmart import against the sandbox over real HTTP (R-SYNC-1, R-SYNC-2, R-WM-STATUS, R-ACC-1/2/4/5)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from channels.models import ChannelAccount
from orders.models import ChannelAction, Invoice, Order, OrderItem, OrderLog, OrderStatus, Shipment
from orders.services.importing import ImportFailed, account_import_orders, account_reimport_orders
from orders.services.errors import OrderActionRefused
from tests.helpers import drain_actions, ups_tracking

pytestmark = pytest.mark.django_db


def import_now(account):
    return account_import_orders(account_id=account.pk)


def test_r_sync_1_imports_1000_orders_across_pages_and_reimport_adds_nothing(sandbox, wm_account):
    wm_account.create_store_order = False
    wm_account.save()
    sandbox.walmart.create_orders(count=1000, lines=2, qty=1)

    result = import_now(wm_account)

    assert result.created == 1000 and result.pages == 5  # 200 a page, the most Walmart serves
    assert Order.objects.filter(account=wm_account).count() == 1000
    assert OrderItem.objects.filter(order__account=wm_account).count() == 2000
    list_calls = sandbox.requests.all(method="GET", path=r"^/v3/orders$")
    assert len(list_calls) == 5
    assert "nextCursor" not in list_calls[0].query  # later pages send the cursor's own query string
    assert list_calls[1].query["soIndex"] == ["200"]

    again = account_import_orders(account_id=wm_account.pk, since=timezone.now() - dt.timedelta(days=1))
    assert again.created == 0 and again.updated == 0 and again.unchanged == 1000
    assert Order.objects.count() == 1000 and OrderItem.objects.count() == 2000


def test_r_sync_1_incremental_import_reads_only_modified_orders(sandbox, wm_account):
    sandbox.walmart.create_orders(count=3)
    import_now(wm_account)
    cursor = ChannelAccount.objects.get(pk=wm_account.pk).last_import_cursor
    assert cursor is not None
    sandbox.requests.clear()

    import_now(wm_account)

    query = sandbox.requests.all(method="GET", path=r"^/v3/orders$")[0].query
    since = dt.datetime.strptime(query["lastModifiedStartDate"][0], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    assert cursor - dt.timedelta(seconds=121) < since <= cursor  # the cursor less the overlap
    assert "createdStartDate" in query  # Walmart would otherwise default to the last 7 days


def test_walmart_order_fields_are_parsed(sandbox, wm_account):
    wm_account.create_store_order = False
    wm_account.save()
    [po] = sandbox.walmart.create_orders(count=1, lines=1, qty=2, price="10.00")

    import_now(wm_account)

    order = Order.objects.get(channel_order_id=po)
    channel = sandbox.walmart.orders[po]
    assert order.status == OrderStatus.CREATED
    assert order.customer_order_id == channel.customer_order_id
    assert order.buyer_name == channel.buyer and order.buyer_email == channel.email.lower()
    assert order.sale_date == channel.order_date.replace(microsecond=channel.order_date.microsecond // 1000 * 1000)
    item = order.items.get()
    assert (item.qty_ordered, item.unit_price, item.tax, item.shipping_charge) == (
        2, Decimal("10.00"), Decimal("1.60"), Decimal("2.00"))
    assert order.grand_total == Decimal("23.60")
    assert OrderLog.objects.filter(order=order, message="Imported from Walmart (Created).").exists()


def test_walmart_duplicated_single_unit_lines_are_merged(sandbox, wm_account):
    wm_account.create_store_order = False
    wm_account.save()
    [po] = sandbox.walmart.create_orders(count=1, lines=1, qty=3, duplicate_lines=True)

    import_now(wm_account)

    item = Order.objects.get(channel_order_id=po).items.get()
    assert item.qty_ordered == 3
    assert item.channel_line_numbers == ["1", "2", "3"]


def test_r_acc_1_2_4_auto_store_order_acknowledge_and_invoice(sandbox, wm_account):
    [po] = sandbox.walmart.create_orders(count=1)

    import_now(wm_account)

    order = Order.objects.get(channel_order_id=po)
    assert order.store_order_number
    assert order.status == OrderStatus.UNSHIPPED  # acknowledged locally, waiting for Walmart
    assert order.sync_state == "pending"
    assert Invoice.objects.filter(order=order).exists()
    assert sandbox.walmart.orders[po].acknowledged is False

    drain_actions()

    assert sandbox.walmart.orders[po].acknowledged is True
    order.refresh_from_db()
    assert order.sync_state == "ok"
    assert len(sandbox.requests.all(method="POST", path="acknowledge")) == 1
    assert OrderLog.objects.filter(order=order, message="Acknowledge: done on Walmart.").exists()


def test_r_acc_1_off_leaves_orders_created(sandbox, wm_account):
    wm_account.create_store_order = False
    wm_account.save()
    [po] = sandbox.walmart.create_orders(count=1)
    import_now(wm_account)
    order = Order.objects.get(channel_order_id=po)
    assert order.status == OrderStatus.CREATED and order.store_order_number is None
    assert not ChannelAction.objects.exists()


def test_r_sync_2_channel_side_cancel_and_ship_show_up(sandbox, wm_account):
    wm_account.create_store_order = False
    wm_account.save()
    shipped_po, canceled_po = sandbox.walmart.create_orders(count=2, lines=2)
    import_now(wm_account)

    sandbox.walmart.channel_ship(shipped_po, tracking_number="1ZCHANNEL")
    sandbox.walmart.channel_cancel(canceled_po)
    import_now(wm_account)

    shipped = Order.objects.get(channel_order_id=shipped_po)
    canceled = Order.objects.get(channel_order_id=canceled_po)
    assert shipped.status == OrderStatus.SHIPPED
    assert canceled.status == OrderStatus.CANCELED
    # R-ACC-5: a shipment recorded from the channel, not sent back.
    shipment = Shipment.objects.get(order=shipped)
    assert shipment.source == Shipment.Source.CHANNEL and shipment.tracking_number == "1ZCHANNEL"
    assert not ChannelAction.objects.filter(order=shipped).exists()
    assert OrderLog.objects.filter(order=canceled, message__startswith="Canceled on Walmart").count() == 2
    assert OrderLog.objects.filter(order=canceled, message="Status changed from Created to Canceled.").exists()


def test_r_sync_2_buyer_cancellation_request_is_flagged_and_shown_in_the_grid(sandbox, wm_account, admin_client):
    [po] = sandbox.walmart.create_orders(count=1, lines=2)
    import_now(wm_account)
    sandbox.walmart.request_cancellation(po, line_numbers=["2"])

    import_now(wm_account)

    order = Order.objects.get(channel_order_id=po)
    assert order.buyer_cancel_requested
    flagged = order.items.get(buyer_cancel_requested=True)
    assert flagged.channel_line_id == "2"
    assert OrderLog.objects.filter(order=order, type="warning", message__startswith=f"Buyer requested cancellation of {flagged.sku}").exists()
    html = admin_client.get(reverse("admin:orders_order_changelist")).content.decode()
    assert "Cancellation Requested" in html


def test_r_sync_1_older_channel_data_never_undoes_a_local_decision(sandbox, wm_account):
    from orders.services.shipments import Tracking, order_ship

    [po] = sandbox.walmart.create_orders(count=1, qty=2)
    import_now(wm_account)
    order = Order.objects.get(channel_order_id=po)
    order_ship(order_id=order.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(4)))

    sandbox.walmart.orders[po].touch()  # the channel changed something else; the shipment is not there yet
    import_now(wm_account)

    item = order.items.get()
    assert item.qty_shipped == 2
    assert Order.objects.get(pk=order.pk).status == OrderStatus.SHIPPED


def test_r_sync_5_failed_import_is_recorded_and_cleared_by_the_next_success(sandbox, wm_account):
    sandbox.faults.add(kind="500", path=r"^/v3/orders$", count=3)  # more than the reads' own retries
    with pytest.raises(ImportFailed):
        import_now(wm_account)
    account = ChannelAccount.objects.get(pk=wm_account.pk)
    assert "HTTP 500" in account.last_import_error and account.import_failing_since is not None

    import_now(wm_account)
    account.refresh_from_db()
    assert account.last_import_error == "" and account.import_failing_since is None
    assert account.last_import_succeeded_at is not None


def test_r_sync_5_secrets_never_appear_in_import_errors(sandbox, wm_account):
    sandbox.walmart.credentials = {"someone-else": "x"}
    with pytest.raises(ImportFailed) as failure:
        import_now(wm_account)
    secret = wm_account.credentials["client_secret"]
    account = ChannelAccount.objects.get(pk=wm_account.pk)
    assert secret not in str(failure.value) and secret not in account.last_import_error
    assert "401" in account.last_import_error


def test_token_is_fetched_once_and_reused(sandbox, wm_account):
    sandbox.walmart.create_orders(count=5)
    import_now(wm_account)
    drain_actions()
    assert len(sandbox.requests.all(path="/v3/token")) == 1
    assert len(sandbox.requests.all(method="POST", path="acknowledge")) == 5


def test_r_sync_6_reimport_by_date_range(sandbox, wm_account):
    now = timezone.now()
    sandbox.walmart.create_orders(count=2, order_date=now - dt.timedelta(days=20))
    sandbox.walmart.create_orders(count=3, order_date=now - dt.timedelta(days=2))
    result = account_reimport_orders(account_id=wm_account.pk, created_from=now - dt.timedelta(days=25),
                                     created_to=now - dt.timedelta(days=10))
    assert result.created == 2
    with pytest.raises(OrderActionRefused):
        account_reimport_orders(account_id=wm_account.pk, created_from=now - dt.timedelta(days=120), created_to=now)


def test_sync_orders_command_shows_progress(sandbox, wm_account, capsys):
    sandbox.walmart.create_orders(count=250)
    call_command("sync_orders", "--account", str(wm_account.pk))
    out = capsys.readouterr().out
    assert "page 1:" in out and "page 2:" in out and "250 new" in out


@pytest.mark.parametrize(("kind", "extra"), [("429", {"retry_after_ms": 100}), ("503", {}), ("drop", {"when": "before"})])
def test_r_sync_1_a_throttled_or_failed_page_is_read_again_and_the_import_completes(sandbox, wm_account, kind, extra):
    sandbox.walmart.create_orders(count=250)
    sandbox.faults.add(kind=kind, path=r"^/v3/orders$", **extra)
    sandbox.requests.clear()

    result = import_now(wm_account)

    assert result.created == 250
    pages = sandbox.requests.all(method="GET", path=r"^/v3/orders$")
    assert [r.fault for r in pages] == [kind, "", ""]  # the faulted first page was read once more


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_imports_of_one_account_create_no_duplicates(sandbox, wm_account):
    from tests.helpers import run_concurrently

    sandbox.walmart.create_orders(count=300, lines=2)
    results = run_concurrently(lambda: account_import_orders(account_id=wm_account.pk))

    assert all(not isinstance(result, Exception) for result in results), results
    assert sum(result.created for result in results) == 300
    assert Order.objects.count() == 300 and OrderItem.objects.count() == 600
    assert Order.objects.filter(store_order_number__isnull=True).count() == 0
    assert ChannelAction.objects.filter(kind="acknowledge").count() == 300  # one each, never two


def test_a_ship_by_date_before_the_sale_is_read_as_the_sale_date(sandbox, wm_account):
    [po] = sandbox.walmart.create_orders(count=1)
    channel = sandbox.walmart.orders[po]
    channel.ship_by = channel.order_date - dt.timedelta(days=2)  # bad channel data
    import_now(wm_account)
    order = Order.objects.get(channel_order_id=po)
    assert order.ship_by_date == order.sale_date
