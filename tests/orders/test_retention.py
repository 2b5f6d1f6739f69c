"""Data retention (issue 13): old history moves to the archive, nothing is lost, and the order page
still tells an archived order's whole story."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from creditmemos.models import CreditMemo
from orders.log import order_log_write
from orders.models import ChannelAction, ChannelActionArchive, OrderLog, OrderLogArchive
from tests.factories import ChannelActionFactory, CreditMemoFactory, create_order

pytestmark = pytest.mark.django_db
THREE_YEARS = dt.timedelta(days=3 * 365)


def aged(model, pk: int, age: dt.timedelta) -> None:
    model.objects.filter(pk=pk).update(created_at=timezone.now() - age)


def test_history_past_the_retention_period_moves_to_the_archive_and_the_rest_stays(walmart_account, settings):
    settings.HISTORY_RETENTION_DAYS = 730
    order = create_order(account=walmart_account)
    old_line = order_log_write(order=order, message="Imported from Walmart (Created).")
    recent_line = order_log_write(order=order, message="Store order #1 created.")
    aged(OrderLog, old_line.pk, THREE_YEARS)
    old_done = ChannelActionFactory(order=order, state=ChannelAction.State.SUCCEEDED, attempts=1)
    old_failed = ChannelActionFactory(order=order, state=ChannelAction.State.FAILED, attempts=6)
    old_in_a_memo = ChannelActionFactory(order=order, state=ChannelAction.State.SUCCEEDED, attempts=1)
    CreditMemoFactory(order=order, state=CreditMemo.State.DONE).channel_actions.add(old_in_a_memo)
    recent_done = ChannelActionFactory(order=order, state=ChannelAction.State.SUCCEEDED, attempts=1)
    for action in (old_done, old_failed, old_in_a_memo):
        aged(ChannelAction, action.pk, THREE_YEARS)

    call_command("archive_history", batch_size=1)

    assert list(OrderLog.objects.filter(order=order).values_list("pk", flat=True)) == [recent_line.pk]
    archived_line = OrderLogArchive.objects.get(order=order)
    assert (archived_line.message, archived_line.type, archived_line.initiator) == (
        old_line.message, old_line.type, old_line.initiator)
    assert set(ChannelAction.objects.values_list("pk", flat=True)) == {old_failed.pk, old_in_a_memo.pk, recent_done.pk}
    archived_action = ChannelActionArchive.objects.get()
    assert archived_action.idempotency_key == old_done.idempotency_key and archived_action.attempts == 1

    call_command("archive_history")  # again: nothing more to move, nothing moved twice
    assert OrderLogArchive.objects.count() == ChannelActionArchive.objects.count() == 1


def test_the_order_page_shows_archived_lines_with_the_rest(walmart_account, admin_client):
    order = create_order(account=walmart_account)
    old_line = order_log_write(order=order, message="An old line, from before the archive.")
    order_log_write(order=order, message="A recent line.")
    aged(OrderLog, old_line.pk, THREE_YEARS)
    call_command("archive_history")

    page = admin_client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert page.index("A recent line.") < page.index("An old line, from before the archive.")
