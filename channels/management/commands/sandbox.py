import logging
import random
import signal
import threading
import time
from pathlib import Path

from django.core.management.base import BaseCommand

from channels.sandbox.demo import CATALOGUE
from channels.sandbox.server import Sandbox, SandboxServer

SAVE_EVERY_SECONDS = 1.0


class Command(BaseCommand):
    help = "Run the sandbox marketplace (Walmart and Amazon contracts) on a local port."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8100)
        parser.add_argument("--seed-orders", type=int, default=20, help="Orders created at start (not with --state "
                            "when the file exists).")
        parser.add_argument(
            "--new-orders-every", type=float, default=30.0,
            help="Seconds between new demo orders (0: none), so the periodic import has work.",
        )
        parser.add_argument("--no-rate-limits", action="store_true",
                            help="Do not throttle (the channels' published limits are enforced by default).")
        parser.add_argument("--state", type=Path, help="Keep the marketplace's orders in this file between runs "
                            "(the demo: `seed_demo` writes it, `make run` starts the sandbox from it).")

    def handle(self, *args, host: str, port: int, seed_orders: int, new_orders_every: float, no_rate_limits: bool,
               state: Path | None, **options):
        logging.basicConfig(level=logging.INFO)
        sandbox = Sandbox.load(state) if state and state.exists() else Sandbox()
        server = SandboxServer(host=host, port=port, sandbox=sandbox)
        sandbox.enforce_limits(not no_rate_limits)
        if seed_orders and not (state and state.exists()):
            sandbox.walmart.create_orders(count=seed_orders, lines=2, qty=2)
            sandbox.walmart.create_orders(count=2, lines=1, qty=3, duplicate_lines=True)
            for po in sandbox.walmart.create_orders(count=2, lines=2, qty=1):
                sandbox.walmart.request_cancellation(po)
            sandbox.amazon.create_orders(count=seed_orders, items=2, qty=1)
            sandbox.amazon.create_orders(count=3, paid=False)
            sandbox.amazon.create_orders(count=2, buyer_cancel=True)
        if new_orders_every > 0:
            threading.Thread(target=self._keep_selling, args=(sandbox, new_orders_every), daemon=True).start()
        if state:
            threading.Thread(target=self._keep_saving, args=(sandbox, state), daemon=True).start()
            # honcho stops its processes with SIGTERM: end like Ctrl-C, so the last changes are saved.
            signal.signal(signal.SIGTERM, signal.default_int_handler)
        self.stdout.write(f"Sandbox marketplace on {server.url} (control API: GET {server.url}/_sandbox/)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            if state:
                sandbox.save(state)

    @staticmethod
    def _keep_saving(sandbox: Sandbox, path: Path) -> None:
        saved = path.read_bytes() if path.exists() else b""
        while True:
            time.sleep(SAVE_EVERY_SECONDS)
            current = sandbox.state()
            if current != saved:
                sandbox.save(path, current)
                saved = current

    @staticmethod
    def _keep_selling(sandbox, every: float) -> None:
        """New orders of the demo catalogue now and then, some Amazon ones paid later."""
        while True:
            time.sleep(every)
            for _ in range(random.randint(1, 3)):
                sandbox.walmart.create_orders(products=random.sample(CATALOGUE, random.randint(1, 3)),
                                              qty=random.randint(1, 2))
            for _ in range(random.randint(0, 2)):
                sandbox.amazon.create_orders(products=random.sample(CATALOGUE, random.randint(1, 2)),
                                             paid=random.random() > 0.3)
            with sandbox.amazon.lock:
                pending = [o.order_id for o in sandbox.amazon.orders.values() if o.status == "Pending"]
            if pending:
                sandbox.amazon.pay(random.choice(pending))
