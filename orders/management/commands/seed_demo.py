"""Demo data for `make run`: marketplaces, one Walmart and one Amazon account on the sandbox, the
demo catalogue as products, and a few hundred orders in every status — made in the sandbox and
imported through the real import, so every channel action on them works (only when there are no
orders yet) — some late, some close to the channel's automatic cancellation, two changed on the
channel behind our back (Needs attention). The sandbox's state is written to a file the `make run` sandbox starts from."""

import datetime as dt
import time
import urllib.parse
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db.models import F
from django.utils import timezone

from channels.models import Channel, ChannelAccount, Marketplace
from channels.sandbox.demo import CATALOGUE, DRIFT_DATED_BACK, drift_behind_our_back, populate_demo
from channels.sandbox.server import Sandbox, SandboxServer
from cockpit.reconciliation import account_reconcile
from cockpit.stats import stats_refresh
from orders.models import Order, OrderStatus, Product, Shipment
from orders.schedules import sync_import_schedules
from orders.services.errors import OrderActionRefused
from orders.services.importing import account_import_orders
from orders.services.store_orders import order_create_store_order

DEMO_ACCOUNTS = [
    {
        "channel": Channel.WALMART,
        "title": "Walmart US (sandbox)",
        "marketplace": {"code": "US", "name": "Walmart US", "currency": "USD"},
        "credentials": {"client_id": "demo-walmart-client", "client_secret": "demo-walmart-secret"},
        # New Walmart orders wait for the operator to acknowledge them (the daily job the demo shows).
        "options": {"create_store_order": False},
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
        "options": {"create_store_order": True},
    },
]
DEMO_STATE_FILE = settings.VAR_DIR / "sandbox-state.pickle"  # the Procfile's sandbox --state
# Walmart orders the demo merchant had already taken into the store before the demo starts.
WALMART_IN_STORE = (OrderStatus.UNSHIPPED, OrderStatus.PARTIALLY_SHIPPED, OrderStatus.SHIPPED)


class Command(BaseCommand):
    help = "Load the demo accounts, products and orders, the orders made in the sandbox and imported (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--orders", type=int, default=300)
        parser.add_argument("--state", type=Path, default=DEMO_STATE_FILE,
                            help="The sandbox's state file, read by `manage.py sandbox --state`.")

    def handle(self, *args, orders: int, state: Path, **options):
        accounts = [self._account(spec) for spec in DEMO_ACCOUNTS]
        sync_import_schedules()
        for sku, name, _price in CATALOGUE:
            Product.objects.get_or_create(sku=sku, defaults={"name": name, "stock_qty": 50})
        if Order.objects.exists():
            self.stdout.write("Orders exist already: no demo orders added.")
            if not state.exists():
                self.stderr.write(f"The sandbox has no state file ({state}): it does not know these orders, so "
                                  "channel actions on them fail. `make clean` then `make run` starts a new demo.")
            return
        started = time.monotonic()
        sandbox = Sandbox()
        stories = populate_demo(sandbox, orders=orders)
        url = urllib.parse.urlsplit(settings.SANDBOX_URL)
        try:
            server = SandboxServer(host=url.hostname, port=url.port or 80, sandbox=sandbox)
        except OSError as busy:
            raise CommandError(f"Cannot start the sandbox on {settings.SANDBOX_URL} to make the demo orders "
                               f"({busy.strerror}): stop the sandbox running there first.") from None
        with server:
            for account in accounts:
                result = account_import_orders(account_id=account.pk)
                self.stdout.write(f"{account.title}: {result}")
            self._stamp_amazon_shipments(accounts[1])
            in_store = self._take_into_store(accounts[0])
            drifted = self._drift(sandbox, accounts)
        stats_refresh()  # the cockpit's figures, at once rather than at beat's first recount
        state.parent.mkdir(parents=True, exist_ok=True)
        sandbox.save(state)
        self.stdout.write(
            f"Demo: {sum(stories.values())} orders made in the sandbox and imported, {in_store} Walmart store orders, "
            f"{drifted} changed on the channel behind our back (Needs attention), in {time.monotonic() - started:.1f}s; "
            f"sandbox state in {state}.")

    def _account(self, spec: dict) -> ChannelAccount:
        marketplace, _ = Marketplace.objects.get_or_create(
            channel=spec["channel"], code=spec["marketplace"]["code"], defaults=spec["marketplace"]
        )
        account, created = ChannelAccount.objects.get_or_create(
            title=spec["title"],
            defaults={"channel": spec["channel"], "marketplace": marketplace, "base_url": settings.SANDBOX_URL,
                      **spec["options"]},
        )
        if created:
            account.set_credentials(**spec["credentials"])
            account.save()
            self.stdout.write(f"Account {account.title} → {account.base_url}")
        return account

    @staticmethod
    def _stamp_amazon_shipments(account: ChannelAccount) -> None:
        """Amazon's order listing gives no ship time, so the import dates a shipment made on Seller
        Central when it reads it, which `make run` does every few seconds. The demo reads two weeks of
        sales in one go: its shipments get the time Amazon last changed their order, when the demo
        shipped it, as imports running all along would have dated them (else all read late)."""
        shipments = Shipment.objects.filter(order__account=account, source=Shipment.Source.CHANNEL).select_related("order")
        for shipment in shipments:
            shipment.shipped_at = shipment.order.channel_updated_at or shipment.shipped_at
        Shipment.objects.bulk_update(shipments, ["shipped_at"])

    @staticmethod
    def _drift(sandbox: Sandbox, accounts: list[ChannelAccount]) -> int:
        """Two Walmart orders shipped and canceled on the channel while imports were not listening,
        found by a reconciliation of each account, so Needs attention has work to show."""
        walmart = accounts[0]
        outage = timezone.now() - DRIFT_DATED_BACK
        # Sold before the outage (an order sold since could not have changed during it), not late yet.
        open_orders = list(Order.objects.filter(account=walmart, status=OrderStatus.UNSHIPPED,
                                                ship_by_date__gt=timezone.now(), buyer_cancel_requested=False,
                                                sale_date__lt=outage - dt.timedelta(hours=1))
                           .order_by("-pk").values_list("channel_order_id", flat=True)[:2])
        if len(open_orders) < 2:
            return 0  # a demo too small to spare two
        shipped, canceled = open_orders
        # As the story goes, we last read them when they were sold, before the outage: the channel's
        # change, dated into the outage, is then newer than our copy, as it would be, and Resync takes it.
        Order.objects.filter(account=walmart, channel_order_id__in=open_orders).update(
            channel_updated_at=F("sale_date"))
        drift_behind_our_back(sandbox.walmart, shipped=shipped, canceled=canceled, at=outage)
        return sum(account_reconcile(account_id=account.pk).differences for account in accounts)

    @staticmethod
    def _take_into_store(account: ChannelAccount) -> int:
        """The Walmart orders the merchant acknowledged before the demo have their store orders."""
        made = 0
        for order_id in Order.objects.filter(account=account, status__in=WALMART_IN_STORE).values_list("pk", flat=True):
            try:
                order_create_store_order(order_id=order_id)
            except OrderActionRefused:
                continue
            made += 1
        return made
