"""Import throughput from the sandbox marketplace (SPEC §9: 2,000+ orders/s, flat memory).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/backoffice .venv/bin/python bench/import_throughput.py --orders 20000
"""

import argparse
import resource
import time

import _setup

parser = argparse.ArgumentParser()
parser.add_argument("--orders", type=int, default=20000)
parser.add_argument("--lines", type=int, default=2)
parser.add_argument("--with-store-orders", action="store_true", help="R-ACC-1/2/4 on (store order, acknowledge, invoice).")
args = parser.parse_args()

drop = _setup.test_database()
try:
    import socket
    import subprocess
    import sys

    import requests

    from orders.models import Order
    from orders.services.importing import account_import_orders
    from tests.factories import ChannelAccountFactory

    # The sandbox runs in its own process, as a real channel would: it does not share our GIL.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    sandbox = subprocess.Popen([sys.executable, str(_setup.ROOT / "manage.py"), "sandbox", "--port", str(port),
                                "--seed-orders", "0", "--new-orders-every", "0"], stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                requests.post(f"{url}/_sandbox/walmart/orders", json={"count": args.orders, "lines": args.lines},
                              timeout=120).raise_for_status()
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        account = ChannelAccountFactory(base_url=url, create_store_order=args.with_store_orders,
                                        auto_invoice=args.with_store_orders)
        rss_samples = []

        def progress(result):
            rss_samples.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)

        started = time.perf_counter()
        result = account_import_orders(account_id=account.pk, progress=progress)
        elapsed = time.perf_counter() - started
    finally:
        sandbox.terminate()
    assert Order.objects.count() == args.orders
    print(f"machine: {_setup.machine()}")
    print(f"imported {result.created} orders × {args.lines} lines in {result.pages} pages: {elapsed:.1f}s, "
          f"{result.created / elapsed:.0f} orders/s (store orders {'on' if args.with_store_orders else 'off'})")
    quarter = max(1, len(rss_samples) // 4)
    print(f"peak RSS after 25% / 50% / 100% of pages: {rss_samples[quarter - 1]} / "
          f"{rss_samples[len(rss_samples) // 2]} / {rss_samples[-1]} MiB")
finally:
    drop()
