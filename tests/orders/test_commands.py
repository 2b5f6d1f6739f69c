import pytest
from django.core.management import call_command

from channels.models import ChannelAccount
from orders.models import Order, OrderLog, OrderStatus
from orders.status import order_status_of
from tests.factories import STATUSES_BY_CHANNEL

pytestmark = pytest.mark.django_db


def test_seed_demo_loads_both_channels_in_every_status_once():
    call_command("seed_demo", orders=400)
    call_command("seed_demo", orders=400)  # idempotent

    assert set(ChannelAccount.objects.values_list("channel", flat=True)) == {"walmart", "amazon"}
    assert Order.objects.count() == 400
    for channel, statuses in STATUSES_BY_CHANNEL.items():
        present = set(Order.objects.filter(channel=channel).values_list("status", flat=True))
        assert present == set(statuses), channel
    assert OrderLog.objects.count() == 400


def test_seeded_orders_carry_the_status_their_lines_give():
    call_command("seed_demo", orders=100)
    for order in Order.objects.prefetch_related("items"):
        assert order_status_of(order) == order.status
        assert order.grand_total == order.subtotal + order.tax_total + order.shipping_total


def test_ensure_admin_creates_the_superuser_once(django_user_model, capsys):
    call_command("ensure_admin")
    call_command("ensure_admin")
    assert django_user_model.objects.filter(username="admin", is_superuser=True).count() == 1
    assert "admin / admin" in capsys.readouterr().out
