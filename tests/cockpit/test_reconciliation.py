"""Issue 15 §4: drift between us and the channel. Orders are changed on the sandbox behind our back
(shipped, canceled, refunded there, or our change refused there); a reconciliation run reads the
channel through its client and lists every difference under Needs attention, with a one-click
resync (re-import) or resend (the outbox again)."""

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from channels.clients import RefundLine, RefundRequest
from channels.registry import client_for
from channels.sandbox.demo import DRIFT_DATED_BACK, drift_behind_our_back
from cockpit.models import Discrepancy
from cockpit.reconciliation import account_reconcile, discrepancy_resend, discrepancy_resync
from orders import outbox
from orders.models import ChannelAction, Order, OrderStatus
from orders.services.errors import OrderActionRefused
from orders.services.importing import account_import_orders
from orders.services.shipments import order_ship
from orders.services.tracking import Tracking
from tests.helpers import ups_tracking

pytestmark = pytest.mark.django_db
NEEDS_ATTENTION = reverse("admin:cockpit_discrepancy_changelist")


@pytest.fixture
def account(wm_account, settings):
    settings.RECONCILE_GRACE_MINUTES = 0  # the changes below are seconds old
    wm_account.create_store_order = False  # no acknowledgement queued by the import
    wm_account.save()
    return wm_account


def _drain(timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while ChannelAction.objects.filter(state__in=ChannelAction.OPEN_STATES).exists() and time.monotonic() < deadline:
        outbox.process_due_actions()
        time.sleep(0.02)


def _imported(sandbox, account, count, *, sold=None):
    pos = sandbox.walmart.create_orders(count=count, qty=2, order_date=sold)
    account_import_orders(account_id=account.pk)
    return [Order.objects.get(channel_order_id=po) for po in pos]


def _fields(discrepancy):
    return {(d["field"], d["ours"], d["channel"]) for d in discrepancy.differences}


def test_changes_made_on_the_channel_behind_our_back_need_attention(sandbox, account):
    shipped, canceled, refunded, untouched = _imported(sandbox, account, 4)
    sandbox.walmart.channel_ship(refunded.channel_order_id, tracking_number="1ZREFUNDED")
    account_import_orders(account_id=account.pk)  # we know it shipped…
    sandbox.walmart.channel_ship(shipped.channel_order_id, tracking_number="1ZBEHINDBACK")  # …these we never hear of
    sandbox.walmart.channel_cancel(canceled.channel_order_id)
    client_for(account).refund(refunded.channel_order_id, RefundRequest(
        lines=(RefundLine(line_number="1", qty=1, amount=Decimal("3.00")),), reason="DamagedItem"))

    run = account_reconcile(account_id=account.pk)

    assert (run.orders_checked, run.differences, run.error) == (4, 3, "")
    by_order = {d.order_id: d for d in Discrepancy.objects.filter(resolved_at__isnull=True)}
    assert set(by_order) == {shipped.pk, canceled.pk, refunded.pk}
    assert {("status", "Created", "Shipped"), ("shipped", 0, 2), ("tracking", "none", "1ZBEHINDBACK")} <= \
        _fields(by_order[shipped.pk])
    assert {("status", "Created", "Canceled"), ("canceled", 0, 2)} <= _fields(by_order[canceled.pk])
    assert _fields(by_order[refunded.pk]) == {("refunded", "0.00", "3.00")}
    assert "refunded of line 1" in by_order[refunded.pk].summary


def test_resync_imports_the_channels_version_and_resolves(sandbox, account, operator_role_client):
    (order,) = _imported(sandbox, account, 1)
    sandbox.walmart.channel_ship(order.channel_order_id)
    account_reconcile(account_id=account.pk)
    discrepancy = Discrepancy.objects.get(order=order)

    response = operator_role_client.post(reverse("admin:cockpit_discrepancy_resync", args=[discrepancy.pk]))

    assert response.status_code == 302
    discrepancy.refresh_from_db()
    assert discrepancy.resolved_at is not None and "Resynced" in discrepancy.last_step
    assert Order.objects.get(pk=order.pk).status == OrderStatus.SHIPPED
    assert account_reconcile(account_id=account.pk).differences == 0


def test_resend_queues_our_failed_change_again_and_the_next_run_resolves(sandbox, account, fast_retries,
                                                                        operator_role_client):
    (order,) = _imported(sandbox, account, 1)
    sandbox.faults.add(kind="500", path="/shipping", method="POST", count=20)
    order_ship(order_id=order.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(7)))
    _drain()
    assert ChannelAction.objects.get(order=order, kind="ship").state == ChannelAction.State.FAILED
    assert account_reconcile(account_id=account.pk).differences == 1
    discrepancy = Discrepancy.objects.get(order=order)
    assert ("shipped", 2, 0) in _fields(discrepancy)
    listing = operator_role_client.get(reverse("admin:cockpit_discrepancy_changelist")).content.decode()
    assert "fix-resend" in listing  # ours failed: there is something to send again

    sandbox.faults.clear()
    discrepancy = discrepancy_resend(discrepancy_id=discrepancy.pk)
    assert discrepancy.resolved_at is None and "queued again" in discrepancy.last_step  # queued is not done
    _drain()
    assert ChannelAction.objects.get(order=order, kind="ship").state == ChannelAction.State.SUCCEEDED
    account_reconcile(account_id=account.pk)
    discrepancy.refresh_from_db()
    assert discrepancy.resolved_at is not None


def test_orders_with_a_change_on_its_way_are_not_drift(sandbox, account):
    (order,) = _imported(sandbox, account, 1)
    order_ship(order_id=order.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(3)))  # queued only
    run = account_reconcile(account_id=account.pk)
    assert (run.orders_checked, run.differences, run.orders_left_to_sync) == (0, 0, 1)


def test_changes_younger_than_the_grace_are_left_to_the_import(sandbox, account, settings):
    (order,) = _imported(sandbox, account, 1)
    sandbox.walmart.channel_ship(order.channel_order_id)
    settings.RECONCILE_GRACE_MINUTES = 10
    run = account_reconcile(account_id=account.pk)
    assert (run.orders_checked, run.differences, run.orders_left_to_sync) == (0, 0, 1)


def test_the_runs_table_says_how_many_orders_were_left_to_the_import(sandbox, account, settings, operator_role_client):
    _imported(sandbox, account, 2)
    [changed, _] = sandbox.walmart.orders
    sandbox.walmart.channel_ship(changed)
    settings.RECONCILE_GRACE_MINUTES = 10
    account_reconcile(account_id=account.pk)
    html = operator_role_client.get(reverse("admin:cockpit_discrepancy_changelist")).content.decode()
    runs = html[html.index('id="reconciliation-runs"'):]
    assert "Left to the import" in runs and '<td class="left-to-import">2</td>' in runs


def test_resend_with_nothing_of_ours_to_send_is_refused(sandbox, account):
    (order,) = _imported(sandbox, account, 1)
    sandbox.walmart.channel_cancel(order.channel_order_id)
    account_reconcile(account_id=account.pk)
    with pytest.raises(OrderActionRefused, match="nothing of ours to resend"):
        discrepancy_resend(discrepancy_id=Discrepancy.objects.get(order=order).pk)


def test_an_unreachable_channel_is_reported_on_the_run(sandbox, account):
    sandbox.faults.add(kind="503", path="/v3/orders", method="GET", count=50)
    run = account_reconcile(account_id=account.pk)
    assert run.error.startswith("The channel could not be read") and run.finished_at


def test_only_operators_reconcile_resync_or_resend(sandbox, account, client, role_user):
    viewer_client = client
    viewer_client.force_login(role_user("Viewer"))
    (order,) = _imported(sandbox, account, 1)
    sandbox.walmart.channel_ship(order.channel_order_id)
    account_reconcile(account_id=account.pk)
    discrepancy = Discrepancy.objects.get(order=order)
    listing = viewer_client.get(NEEDS_ATTENTION, {"status": "open"})
    assert listing.status_code == 200 and order.channel_order_id.encode() in listing.content
    assert b"fix-resync" not in listing.content and b"reconcile-now" not in listing.content
    for name in ("cockpit_discrepancy_resync", "cockpit_discrepancy_resend"):
        assert viewer_client.post(reverse(f"admin:{name}", args=[discrepancy.pk])).status_code == 403
    assert viewer_client.post(reverse("admin:cockpit_reconcile", args=[account.pk])).status_code == 403
    discrepancy.refresh_from_db()
    assert discrepancy.resolved_at is None and not discrepancy.last_step
    client.force_login(role_user("Operator"))
    listing = client.get(NEEDS_ATTENTION, {"status": "open"})
    assert b"fix-resync" in listing.content and b"reconcile-now" in listing.content


def test_reconcile_now_hands_the_run_to_a_worker(account, operator_role_client):
    from orders.models import TaskHandoff

    response = operator_role_client.post(reverse("admin:cockpit_reconcile", args=[account.pk]))
    assert response.status_code == 302
    assert list(TaskHandoff.objects.values_list("task", "args")) == [
        ("cockpit.tasks.reconcile_account", [account.pk, response.wsgi_request.user.pk])]


def test_resync_mends_a_change_the_channel_dated_into_an_outage_of_our_imports(sandbox, account):
    """The demo's drift: sold three days ago, we last read the order two days ago, Walmart shipped it a day ago while the
    imports were down; the next imports never list it again, Resync takes it."""
    order, other = _imported(sandbox, account, 2, sold=timezone.now() - 3 * DRIFT_DATED_BACK)
    Order.objects.filter(pk__in=[order.pk, other.pk]).update(channel_updated_at=timezone.now() - 2 * DRIFT_DATED_BACK)
    drift_behind_our_back(sandbox.walmart, shipped=order.channel_order_id, canceled=other.channel_order_id)
    account_import_orders(account_id=account.pk)
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CREATED  # the import does not see it again
    account_reconcile(account_id=account.pk)

    discrepancy = discrepancy_resync(discrepancy_id=Discrepancy.objects.get(order=order).pk)

    assert discrepancy.resolved_at is not None, discrepancy.last_step
    order = Order.objects.get(pk=order.pk)
    assert order.status == OrderStatus.SHIPPED
    assert order.shipments.get().tracking_number == f"1ZDRIFT{order.channel_order_id[-6:]}"


def test_a_resync_that_leaves_the_order_different_says_so_and_why(sandbox, account, operator_role_client):
    (order,) = _imported(sandbox, account, 1)
    sandbox.walmart.channel_ship(order.channel_order_id)
    with sandbox.walmart.lock:  # the channel dates its change before the version we applied
        sandbox.walmart.orders[order.channel_order_id].last_modified = order.channel_updated_at - timedelta(hours=1)
    account_reconcile(account_id=account.pk)
    discrepancy = Discrepancy.objects.get(order=order)

    answer = operator_role_client.post(reverse("admin:cockpit_discrepancy_resync", args=[discrepancy.pk]), follow=True)

    discrepancy.refresh_from_db()
    assert discrepancy.resolved_at is None and Order.objects.get(pk=order.pk).status == OrderStatus.CREATED
    assert "still different: the channel dates its version" in discrepancy.last_step
    [message] = list(answer.context["messages"])
    assert message.level_tag == "warning" and "so the import keeps ours" in message.message


def test_a_resync_that_mends_the_order_says_so_in_one_sentence(sandbox, account, operator_role_client):
    order, other = _imported(sandbox, account, 2, sold=timezone.now() - 3 * DRIFT_DATED_BACK)
    Order.objects.filter(pk__in=[order.pk, other.pk]).update(channel_updated_at=timezone.now() - 2 * DRIFT_DATED_BACK)
    drift_behind_our_back(sandbox.walmart, shipped=order.channel_order_id, canceled=other.channel_order_id)
    account_reconcile(account_id=account.pk)
    discrepancy = Discrepancy.objects.get(order=order)

    answer = operator_role_client.post(reverse("admin:cockpit_discrepancy_resync", args=[discrepancy.pk]), follow=True)

    [message] = [str(message) for message in answer.context["messages"]]
    assert message == f"Resync of {order.channel_order_id}: Resynced: the order now matches the channel."
    listed = operator_role_client.get(reverse("admin:cockpit_discrepancy_changelist") + "?status=resolved")
    assert "Resolved — Resynced: the order now matches the channel." in listed.content.decode()


def test_a_difference_reads_in_words_on_its_page_with_its_fixes(sandbox, account, operator_role_client):
    (order,) = _imported(sandbox, account, 1)
    Order.objects.filter(pk=order.pk).update(channel_updated_at=timezone.now() - 2 * DRIFT_DATED_BACK)
    sandbox.walmart.channel_ship(order.channel_order_id)
    account_reconcile(account_id=account.pk)
    discrepancy = Discrepancy.objects.get(order=order)

    html = operator_role_client.get(reverse("admin:cockpit_discrepancy_change", args=[discrepancy.pk])).content.decode()

    assert discrepancy.summary in html and '"field"' not in html and "&quot;field&quot;" not in html
    assert reverse("admin:cockpit_discrepancy_resync", args=[discrepancy.pk]) in html
    # Nothing of ours to send (no failed action, no shipment made here): Resend would refuse, so it is not offered.
    assert reverse("admin:cockpit_discrepancy_resend", args=[discrepancy.pk]) not in html
    listing = operator_role_client.get(reverse("admin:cockpit_discrepancy_changelist")).content.decode()
    assert "fix-resync" in listing and "fix-resend" not in listing
    assert "order needing attention" in html.lower()


def test_an_orders_page_says_what_the_last_reconciliation_found_different(sandbox, account, operator_role_client):
    (order,) = _imported(sandbox, account, 1)
    Order.objects.filter(pk=order.pk).update(channel_updated_at=timezone.now() - 2 * DRIFT_DATED_BACK)
    sandbox.walmart.channel_ship(order.channel_order_id)
    page = reverse("admin:orders_order_change", args=[order.pk])
    assert 'id="needs-attention"' not in operator_role_client.get(page).content.decode()
    account_reconcile(account_id=account.pk)
    discrepancy = Discrepancy.objects.get(order=order)

    html = operator_role_client.get(page).content.decode()
    note = html[html.index('id="needs-attention"'):].split("</span>")[0]
    assert f"The last reconciliation found Walmart different: {discrepancy.summary}" in note
    assert reverse("admin:cockpit_discrepancy_change", args=[discrepancy.pk]) in note


def test_needs_attention_says_what_a_run_leaves_to_the_import(viewer_client, settings):
    settings.RECONCILE_GRACE_MINUTES = 10
    note = " ".join(viewer_client.get(NEEDS_ATTENTION).content.decode().split())
    assert "the orders the channel changed in the last 10 minutes, those with a change of ours still on its way" in note
