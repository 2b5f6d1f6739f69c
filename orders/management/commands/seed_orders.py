"""Bulk orders for demos and benchmarks: every status of both channels, with lines and a log line."""

import random
import time

from django.core.management.base import BaseCommand
from django.db import transaction

from channels.models import ChannelAccount
from orders.log import LogEntry, order_log_write_many
from orders.models import Order, OrderItem, Product
from tests.factories import STATUSES_BY_CHANNEL, ProductFactory, build_order

BATCH = 2000


class Command(BaseCommand):
    help = "Create N orders with items spread over the active channel accounts (bulk inserts)."

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, required=True)
        parser.add_argument("--items", type=int, default=3, help="Lines per order (at most).")
        parser.add_argument("--seed", type=int, default=None, help="Random seed, for repeatable data.")

    def handle(self, *args, count: int, items: int, seed: int | None, **options):
        if seed is not None:
            random.seed(seed)
        accounts = list(ChannelAccount.objects.filter(is_active=True).select_related("marketplace"))
        if not accounts:
            self.stderr.write("No active channel account: run `manage.py seed_demo` or add one first.")
            return
        products = list(Product.objects.all()) or [ProductFactory() for _ in range(30)]
        started = time.monotonic()
        created = 0
        while created < count:
            size = min(BATCH, count - created)
            self._create_batch(size=size, accounts=accounts, products=products, max_items=items)
            created += size
            self.stdout.write(f"\r{created}/{count} orders", ending="")
            self.stdout.flush()
        elapsed = time.monotonic() - started
        self.stdout.write(f"\nCreated {created} orders in {elapsed:.1f}s ({created / max(elapsed, 1e-9):.0f}/s).")

    @transaction.atomic
    def _create_batch(self, *, size: int, accounts, products, max_items: int) -> None:
        built = []
        for _ in range(size):
            account = random.choice(accounts)
            status = random.choice(STATUSES_BY_CHANNEL[account.channel])
            linked = products if random.random() < 0.8 else None
            built.append(
                build_order(account=account, status=status, n_items=random.randint(1, max_items), products=linked)
            )
        orders = Order.objects.bulk_create([order for order, _ in built], batch_size=500)
        lines = []
        for order, items in built:
            for item in items:
                item.order = order
                lines.append(item)
        OrderItem.objects.bulk_create(lines, batch_size=1000)
        order_log_write_many(entries=[LogEntry(order_id=order.pk, message="Order imported (demo data).") for order in orders])
