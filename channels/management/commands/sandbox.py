import logging
import random
import threading
import time

from django.core.management.base import BaseCommand

from channels.sandbox.server import SandboxServer


class Command(BaseCommand):
    help = "Run the sandbox marketplace (Walmart and Amazon contracts) on a local port."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8100)
        parser.add_argument("--seed-orders", type=int, default=20, help="Orders created at start.")
        parser.add_argument(
            "--new-orders-every", type=float, default=30.0,
            help="Seconds between new demo orders (0: none), so the periodic import has work.",
        )
        parser.add_argument("--no-rate-limits", action="store_true",
                            help="Do not throttle (the channels' published limits are enforced by default).")

    def handle(self, *args, host: str, port: int, seed_orders: int, new_orders_every: float, no_rate_limits: bool,
               **options):
        logging.basicConfig(level=logging.INFO)
        server = SandboxServer(host=host, port=port)
        sandbox = server.sandbox
        sandbox.enforce_limits(not no_rate_limits)
        if seed_orders:
            sandbox.walmart.create_orders(count=seed_orders, lines=2, qty=2)
            sandbox.walmart.create_orders(count=2, lines=1, qty=3, duplicate_lines=True)
            for po in sandbox.walmart.create_orders(count=2, lines=2, qty=1):
                sandbox.walmart.request_cancellation(po)
            sandbox.amazon.create_orders(count=seed_orders, items=2, qty=1)
            sandbox.amazon.create_orders(count=3, paid=False)
            sandbox.amazon.create_orders(count=2, buyer_cancel=True)
        if new_orders_every > 0:
            threading.Thread(target=self._keep_selling, args=(sandbox, new_orders_every), daemon=True).start()
        self.stdout.write(f"Sandbox marketplace on {server.url} (control API under /_sandbox/)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass

    @staticmethod
    def _keep_selling(sandbox, every: float) -> None:
        while True:
            time.sleep(every)
            sandbox.walmart.create_orders(count=random.randint(1, 3), lines=random.randint(1, 3), qty=random.randint(1, 2))
            sandbox.amazon.create_orders(count=random.randint(0, 2), items=random.randint(1, 2),
                                         paid=random.random() > 0.3)
            with sandbox.amazon.lock:
                pending = [o.order_id for o in sandbox.amazon.orders.values() if o.status == "Pending"]
            if pending:
                sandbox.amazon.pay(random.choice(pending))
