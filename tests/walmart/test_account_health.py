"""R-SYNC-5 sync health per account, R-SYNC-6 Order Reimport, and the per-account beat schedule."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from channels.models import ChannelAccount
from orders.models import ChannelAction
from orders.schedules import IMPORT_TASK, import_task_name, sync_import_schedules
from orders.services.shipments import Tracking, order_ship
from tests.factories import create_order
from tests.helpers import ups_tracking

pytestmark = pytest.mark.django_db
ACCOUNTS = reverse("admin:channels_channelaccount_changelist")
CHANNEL_ACTIONS = reverse("admin:orders_channelaction_changelist")


def test_r_sync_5_accounts_show_waiting_and_failed_actions(admin_client, walmart_account, django_assert_max_num_queries):
    orders = [create_order(account=walmart_account, status="unshipped") for _ in range(3)]
    for order in orders:
        order_ship(order_id=order.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking()))
    ChannelAction.objects.filter(order=orders[0]).update(state="failed", last_error="boom")

    with django_assert_max_num_queries(10):
        html = admin_client.get(ACCOUNTS).content.decode()

    row = response_row(html, walmart_account.title)
    assert '<td class="field-waiting_actions">2</td>' in row
    assert f"?account__id__exact={walmart_account.pk}&amp;state__exact=failed" in row and ">1</a>" in row
    failed_list = admin_client.get(f"{CHANNEL_ACTIONS}?account__id__exact={walmart_account.pk}&state__exact=failed")
    assert list(failed_list.context["cl"].result_list) == list(ChannelAction.objects.filter(state="failed"))


def response_row(html: str, title: str) -> str:
    start = html.index(title)
    return html[start:html.index("</tr>", start)]


def test_r_sync_5_import_failing_longer_than_the_threshold_is_flagged(admin_client, walmart_account, settings):
    settings.SYNC_HEALTH_FAILING_AFTER_HOURS = 4
    ChannelAccount.objects.filter(pk=walmart_account.pk).update(
        last_import_error="HTTP 500", import_failing_since=timezone.now() - dt.timedelta(hours=5))
    html = admin_client.get(ACCOUNTS).content.decode()
    assert "CRITICAL: import failing since" in html

    ChannelAccount.objects.filter(pk=walmart_account.pk).update(import_failing_since=timezone.now())
    html = admin_client.get(ACCOUNTS).content.decode()
    assert "CRITICAL" not in html and "Last import failed: HTTP 500" in html


def test_r_sync_6_reimport_form_validates_the_range(admin_client, walmart_account, django_capture_on_commit_callbacks):
    url = reverse("admin:channels_channelaccount_reimport", args=[walmart_account.pk])
    today = timezone.now().date()
    too_old = admin_client.post(url, {"created_from": (today - dt.timedelta(days=120)).isoformat(),
                                      "created_to": today.isoformat()})
    assert "Reimport goes back at most 90 days." in too_old.content.decode()
    with django_capture_on_commit_callbacks() as callbacks:
        ok = admin_client.post(url, {"created_from": (today - dt.timedelta(days=30)).isoformat(),
                                     "created_to": today.isoformat()}, follow=True)
    assert len(callbacks) == 1
    assert "queued for" in [str(m) for m in ok.context["messages"]][0]


def test_every_account_gets_its_own_import_schedule(walmart_account, amazon_account):
    from django_celery_beat.models import PeriodicTask

    assert sync_import_schedules() == 2
    assert sync_import_schedules() == 0
    task = PeriodicTask.objects.get(name=import_task_name(walmart_account.pk))
    assert task.task == IMPORT_TASK and task.enabled and task.interval.every == 60
    ChannelAccount.objects.filter(pk=walmart_account.pk).update(is_active=False)
    sync_import_schedules()
    assert not PeriodicTask.objects.get(name=import_task_name(walmart_account.pk)).enabled
