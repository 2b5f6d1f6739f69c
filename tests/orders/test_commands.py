import datetime as dt
import socket

import pytest
from django.core.management import call_command
from django.utils import timezone

from channels.models import ChannelAccount
from channels.registry import forget_clients
from channels.sandbox.demo import CATALOGUE
from channels.sandbox.server import Sandbox, SandboxServer
from cockpit.models import Discrepancy
from orders.models import ChannelAction, Order, OrderReturn, OrderStatus
from orders.services.acknowledge import order_acknowledge
from orders.services.cancel import order_cancel
from orders.services.shipments import Tracking, order_ship
from orders.status import order_status_of
from tests.factories import STATUSES_BY_CHANNEL
from tests.helpers import drain_actions, ups_tracking

pytestmark = pytest.mark.django_db


# The demo's Amazon account reads Orders 2026-01-01, which has no "Invoice Unconfirmed".
ONLY_ON_AMAZON_ORDERS_V0 = {OrderStatus.INVOICE_UNCONFIRMED}


@pytest.fixture
def demo_state(settings, tmp_path):
    """Where seed_demo keeps the sandbox's state; its sandbox listens on a free port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.SANDBOX_URL = f"http://127.0.0.1:{port}"
    forget_clients()
    yield tmp_path / "sandbox-state.pickle"
    forget_clients()


def test_seed_demo_makes_its_orders_in_the_sandbox_in_every_status_once(demo_state):
    call_command("seed_demo", orders=120, state=demo_state)
    call_command("seed_demo", orders=120, state=demo_state)  # idempotent

    assert set(ChannelAccount.objects.values_list("channel", flat=True)) == {"walmart", "amazon"}
    assert Order.objects.count() == 120
    for channel, statuses in STATUSES_BY_CHANNEL.items():
        present = set(Order.objects.filter(channel=channel).values_list("status", flat=True))
        assert present == set(statuses) - ONLY_ON_AMAZON_ORDERS_V0, channel
    sandbox = Sandbox.load(demo_state)
    assert set(Order.objects.values_list("channel_order_id", flat=True)) == set(sandbox.walmart.orders) | set(
        sandbox.amazon.orders)  # every demo order is one the channel knows: its actions can work
    for channel in ("walmart", "amazon"):
        assert Order.objects.filter(channel=channel, buyer_cancel_requested=True).exists(), channel
    assert OrderReturn.objects.exists()
    # What the cockpit shows (issue 15): late orders, Walmart orders near automatic cancellation, drift.
    late = Order.objects.filter(status__in=[OrderStatus.UNSHIPPED, OrderStatus.CREATED],
                                ship_by_date__lt=timezone.now())
    assert {"walmart", "amazon"} <= set(late.values_list("channel", flat=True))
    assert late.filter(channel="walmart", ship_by_date__lt=timezone.now() - dt.timedelta(days=3)).exists()
    drifted = Discrepancy.objects.filter(resolved_at__isnull=True)
    assert set(drifted.values_list("order__status", flat=True)) == {OrderStatus.UNSHIPPED}
    assert drifted.count() == 2
    for po in drifted.values_list("order__channel_order_id", flat=True):  # shipped or canceled there
        assert all(line.shipped + line.cancelled == line.qty for line in sandbox.walmart.orders[po].lines), po
    for po, read in drifted.values_list("order__channel_order_id", "order__channel_updated_at"):
        assert sandbox.walmart.orders[po].last_modified > read, po  # newer than our copy: Resync takes it
    names = {name for _, name, _ in CATALOGUE}
    assert {item.title for order in Order.objects.prefetch_related("items") for item in order.items.all()} <= names


def test_seeded_orders_carry_the_status_their_lines_give(demo_state):
    call_command("seed_demo", orders=60, state=demo_state)
    for order in Order.objects.prefetch_related("items"):
        assert order_status_of(order) == order.status
        assert order.grand_total == order.subtotal + order.tax_total + order.shipping_total


def test_channel_actions_on_demo_orders_reach_the_sandbox_started_from_its_state(demo_state, settings):
    call_command("seed_demo", orders=60, state=demo_state)
    created = Order.objects.filter(channel="walmart", status=OrderStatus.CREATED).first()
    unshipped = Order.objects.filter(channel="amazon", status=OrderStatus.UNSHIPPED,
                                     buyer_cancel_requested=False).first()
    to_cancel = Order.objects.filter(channel="walmart", status=OrderStatus.UNSHIPPED, buyer_cancel_requested=False,
                                     discrepancies__isnull=True).first()  # not one canceled behind our back
    port = int(settings.SANDBOX_URL.rsplit(":", 1)[1])
    with SandboxServer(port=port, sandbox=Sandbox.load(demo_state)) as server:  # as `make run` starts it
        order_acknowledge(order_id=created.pk)
        order_ship(order_id=unshipped.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(1)))
        order_cancel(order_id=to_cancel.pk, reason="out_of_stock")
        drain_actions()
        assert set(ChannelAction.objects.values_list("state", flat=True)) == {ChannelAction.State.SUCCEEDED}
        assert server.sandbox.walmart.orders[created.channel_order_id].acknowledged
        assert server.sandbox.amazon.orders[unshipped.channel_order_id].status == "Shipped"


def test_seed_demo_says_when_the_sandbox_cannot_know_existing_orders(demo_state, capsys):
    call_command("seed_demo", orders=4, state=demo_state)
    demo_state.unlink()
    call_command("seed_demo", orders=4, state=demo_state)
    assert "does not know these orders" in capsys.readouterr().err


def test_ensure_admin_creates_the_superuser_once(django_user_model):
    call_command("ensure_admin")
    call_command("ensure_admin")
    assert django_user_model.objects.filter(username="admin", is_superuser=True).count() == 1


def test_the_login_is_announced_once_the_services_answer(live_server, django_user_model, capsys):
    call_command("ensure_admin")
    call_command("announce_login", wait_for=[f"{live_server.url}/admin/login/"], no_stay=True, timeout=10)
    assert f"Log in at {live_server.url}/admin/ as admin / admin" in capsys.readouterr().out
