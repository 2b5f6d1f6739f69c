"""Issue 8 §6: the channel's pages are fetched and read by a second process while the importer
stores the previous one (orders.services.page_reader). Whatever becomes of that process, nothing
is lost: each page is stored whole with what the account's options owe it, the run fails with the
reason, and the next run imports the rest, each order once."""

import json
import os
import signal
from collections import Counter

import pytest
from django.core.serializers.json import DjangoJSONEncoder

from channels.clients import RetryableChannelError
from channels.models import ChannelAccount
from channels.registry import client_for
from channels.walmart.client import WalmartClient
from orders.models import ChannelAction, Invoice, Order
from orders.services import importing
from orders.services.importing import ImportFailed, account_import_orders

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
PAGE = importing.IMPORT_PAGE_SIZE


def reading_pages(monkeypatch, after_each_page):
    """Wrap the Walmart client's listing: `after_each_page(number)` runs, where the pages are read,
    after each page is handed on (number 1, 2, …)."""
    listing = WalmartClient.iter_order_pages

    def iter_order_pages(self, **kwargs):
        for number, page in enumerate(listing(self, **kwargs), start=1):
            yield page
            after_each_page(number)

    monkeypatch.setattr(WalmartClient, "iter_order_pages", iter_order_pages)


def test_the_pages_are_read_by_another_process_and_every_order_is_stored_once(sandbox, wm_account, monkeypatch,
                                                                             tmp_path):
    pos = sandbox.walmart.create_orders(count=2 * PAGE + 50, lines=2)
    readers = tmp_path / "readers"

    def note_the_reader(number):
        with readers.open("a") as noted:  # closed here: a reader leaves through os._exit
            noted.write(f"{os.getpid()}\n")

    reading_pages(monkeypatch, note_the_reader)

    result = account_import_orders(account_id=wm_account.pk)

    assert result.created == len(pos) and result.pages == 3
    assert set(readers.read_text().split()) - {str(os.getpid())}, "the pages were read by the storing process"
    assert sorted(Order.objects.values_list("channel_order_id", flat=True)) == sorted(pos)
    assert not Order.objects.filter(store_order_number__isnull=True).exists()


def test_the_payload_stored_is_the_channels_order_as_read(sandbox, wm_account):
    """The reader encodes each payload for its column; what is stored is the order as the channel
    sent it, amounts as the store keeps them (the same JSON the storing process would have written)."""
    [po] = sandbox.walmart.create_orders(count=1, lines=2)
    account_import_orders(account_id=wm_account.pk)

    order = Order.objects.get(channel_order_id=po)
    sent = client_for(wm_account).get_order(po).raw
    assert order.raw_payload == json.loads(json.dumps(sent, cls=DjangoJSONEncoder))
    assert order.raw_payload["purchaseOrderId"] == po and order.raw_payload["orderLines"]["orderLine"]


def test_a_reader_killed_mid_run_loses_nothing_and_the_next_run_imports_the_rest(sandbox, wm_account, monkeypatch):
    pos = sandbox.walmart.create_orders(count=4 * PAGE, lines=2)
    storing = os.getpid()

    def die_after_the_second_page(number):
        if number == 2 and os.getpid() != storing:
            os.kill(os.getpid(), signal.SIGKILL)

    reading_pages(monkeypatch, die_after_the_second_page)
    with pytest.raises(ImportFailed, match="process reading the channel's pages was killed"):
        account_import_orders(account_id=wm_account.pk)

    account = ChannelAccount.objects.get(pk=wm_account.pk)
    assert ("the process reading the channel's pages was killed (signal 9) before the last page; the pages stored "
            "are kept, and the next import reads the channel again from where the last completed import left off"
            ) in account.last_import_error
    assert account.last_import_cursor is None  # the next run starts from the same point
    stored = Order.objects.count()
    assert stored == 2 * PAGE  # the pages handed over are stored whole, nothing of the others
    assert Order.objects.filter(store_order_number__isnull=False, invoice__isnull=False).count() == stored
    assert ChannelAction.objects.filter(kind=ChannelAction.Kind.ACKNOWLEDGE).count() == stored

    monkeypatch.undo()
    account_import_orders(account_id=wm_account.pk)
    assert sorted(Order.objects.values_list("channel_order_id", flat=True)) == sorted(pos)
    assert Invoice.objects.count() == len(pos) and not Order.objects.filter(store_order_number__isnull=True).exists()
    acknowledgements = Counter(ChannelAction.objects.filter(kind=ChannelAction.Kind.ACKNOWLEDGE)
                               .values_list("order_id", flat=True))
    assert len(acknowledgements) == len(pos) and set(acknowledgements.values()) == {1}
    assert ChannelAccount.objects.get(pk=wm_account.pk).last_import_error == ""


def test_a_reader_that_hands_over_nothing_fails_the_run_instead_of_holding_it_for_ever(sandbox, wm_account,
                                                                                        monkeypatch, settings):
    """A reader stopped (SIGSTOP) mid-run: the import waited on it for ever while the account's health
    said OK (an outside tester). After the time allowed the run fails with the reason, and the reader
    is ended."""
    settings.IMPORT_PAGE_READER_TIMEOUT_SECONDS = 1.5
    sandbox.walmart.create_orders(count=3 * PAGE)
    storing = os.getpid()
    stopped = []

    def stop_before_the_second_page(number):
        if number == 1 and os.getpid() != storing:
            stopped.append(os.getpid())
            os.kill(os.getpid(), signal.SIGSTOP)

    reading_pages(monkeypatch, stop_before_the_second_page)
    with pytest.raises(ImportFailed, match=r"gave no page for 1.5 s \(stopped or stuck\)"):
        account_import_orders(account_id=wm_account.pk)

    assert Order.objects.count() == PAGE  # the page handed over is stored whole
    assert "gave no page for 1.5 s" in ChannelAccount.objects.get(pk=wm_account.pk).last_import_error
    assert not _children_of(storing)  # the stopped reader was killed and reaped, no zombie left


def _children_of(pid: int) -> list[str]:
    children = f"/proc/{pid}/task/{pid}/children"
    return open(children).read().split() if os.path.exists(children) else []


def test_a_channel_error_in_the_reader_ends_the_run_with_the_channels_words(sandbox, wm_account, monkeypatch):
    sandbox.walmart.create_orders(count=PAGE + 1)

    def unavailable(number):
        raise RetryableChannelError("Walmart orders: HTTP 503: try again later", status=503)

    reading_pages(monkeypatch, unavailable)
    with pytest.raises(ImportFailed) as failed:
        account_import_orders(account_id=wm_account.pk)

    assert isinstance(failed.value.__cause__, RetryableChannelError) and failed.value.__cause__.status == 503
    assert ChannelAccount.objects.get(pk=wm_account.pk).last_import_error == "Walmart orders: HTTP 503: try again later"
    assert Order.objects.count() == PAGE


def test_a_run_that_fails_while_storing_ends_its_reader(sandbox, wm_account, monkeypatch, tmp_path):
    sandbox.walmart.create_orders(count=3 * PAGE)
    readers = tmp_path / "readers"
    reading_pages(monkeypatch, lambda number: readers.write_text(str(os.getpid())))
    stored = importing.upsert_page

    def fail_on_the_second_page(*, account, page, result):
        if result.pages == 1:
            raise RuntimeError("the storing process stops here")
        stored(account=account, page=page, result=result)

    monkeypatch.setattr(importing, "upsert_page", fail_on_the_second_page)
    with pytest.raises(ImportFailed, match="the storing process stops here"):
        account_import_orders(account_id=wm_account.pk)

    assert Order.objects.count() == PAGE
    with pytest.raises(ProcessLookupError):  # ended, and its end collected: no process of that id is left
        os.kill(int(readers.read_text()), 0)


def test_an_unexpected_error_of_the_reader_keeps_where_it_was_raised(sandbox, wm_account, monkeypatch):
    """The storing process raises the reader's error; its traceback from the reader goes with it."""
    sandbox.walmart.create_orders(count=PAGE + 1)

    def broken(number):
        raise KeyError("orderLines")

    reading_pages(monkeypatch, broken)
    with pytest.raises(ImportFailed) as failed:
        account_import_orders(account_id=wm_account.pk)

    cause = failed.value.__cause__
    assert isinstance(cause, KeyError)
    [note] = cause.__notes__
    assert "raised in the import's page reader" in note and "in broken" in note and "KeyError: 'orderLines'" in note
