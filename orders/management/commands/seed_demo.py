"""Demo data for `make run`: marketplaces, one Walmart and one Amazon account on the sandbox,
products, and a few hundred orders in every status (only when there are no orders yet)."""

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from channels.models import Channel, ChannelAccount, Marketplace
from orders.models import Order
from orders.schedules import sync_import_schedules
from tests.factories import ProductFactory

DEMO_ACCOUNTS = [
    {
        "channel": Channel.WALMART,
        "title": "Walmart US (sandbox)",
        "marketplace": {"code": "US", "name": "Walmart US", "currency": "USD"},
        "credentials": {"client_id": "demo-walmart-client", "client_secret": "demo-walmart-secret"},
    },
    {
        "channel": Channel.AMAZON,
        "title": "Amazon US (sandbox)",
        "marketplace": {"code": "ATVPDKIKX0DER", "name": "Amazon.com (US)", "currency": "USD"},
        "credentials": {
            "client_id": "amzn1.application-oa2-client.demo",
            "client_secret": "demo-amazon-secret",
            "refresh_token": "Atzr|demo-refresh-token",
        },
    },
]


class Command(BaseCommand):
    help = "Load the demo accounts, products and orders (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--orders", type=int, default=300)

    def handle(self, *args, orders: int, **options):
        for spec in DEMO_ACCOUNTS:
            marketplace, _ = Marketplace.objects.get_or_create(
                channel=spec["channel"], code=spec["marketplace"]["code"], defaults=spec["marketplace"]
            )
            account, created = ChannelAccount.objects.get_or_create(
                title=spec["title"],
                defaults={"channel": spec["channel"], "marketplace": marketplace, "base_url": settings.SANDBOX_URL},
            )
            if created:
                account.set_credentials(**spec["credentials"])
                account.save()
                self.stdout.write(f"Account {account.title} → {account.base_url}")
        sync_import_schedules()
        for n in range(30):
            ProductFactory(sku=f"DEMO-{n:03d}", stock_qty=50)
        if Order.objects.exists():
            self.stdout.write("Orders exist already: no demo orders added.")
            return
        call_command("seed_orders", count=orders, seed=7, stdout=self.stdout)
