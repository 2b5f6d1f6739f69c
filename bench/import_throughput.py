"""Import throughput from the sandbox marketplace (SPEC §9, issue 8 §6: 100,000 orders at 2,000+
orders/s with the account options on and off, flat memory, no lock held longer than a page's write).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/backoffice .venv/bin/python bench/import_throughput.py --orders 100000
    ... --with-store-orders      # automatic store order + acknowledge + invoice (R-ACC-1/2/4)

Prints wall time and orders/s, the CPU seconds each process spent (the storing importer, the
process reading the channel's pages for it, the importer's PostgreSQL backend, the sandbox: a
machine shared with other work slows the wall clock, not the CPU per order), the longest page
transaction (every lock the import takes is held at most that long), per-page times at the start
and the end of the run, how long a page's transaction waited for a CPU (other work's share of the
machine), and peak memory.

    ... --profile                # cProfile of the storing importer's CPU: top functions printed
    ... --accounts 2             # the orders shared out among 2 accounts, each imported in its own process
                                 # (manage.py sync_orders) at the same time: the combined rate
"""

import argparse
import collections
import contextlib
import os
import resource
import statistics
import time

import _setup

parser = argparse.ArgumentParser()
parser.add_argument("--orders", type=int, default=100_000)
parser.add_argument("--lines", type=int, default=2)
parser.add_argument("--with-store-orders", action="store_true", help="R-ACC-1/2/4 on (store order, acknowledge, invoice).")
parser.add_argument("--profile", action="store_true",
                    help="profile the storing importer's CPU time (not its page reader's: another process) and "
                         "print the functions that take the most, with and without what they call; slows the run")
parser.add_argument("--accounts", type=int, default=1,
                    help="share the orders out among this many accounts and import them all at once, each in its "
                         "own process")
args = parser.parse_args()
if args.profile and args.accounts > 1:
    parser.error("--profile profiles this process's import: one account")

TICKS = os.sysconf("SC_CLK_TCK")
TOP_FUNCTIONS = 30


@contextlib.contextmanager
def profiled(profiles: list):
    """cProfile this thread on its own CPU clock: time spent waiting for PostgreSQL or the page
    reader is not the importer's work."""
    import cProfile

    profile = cProfile.Profile(time.thread_time)
    profiles.append(profile)
    profile.enable()
    try:
        yield
    finally:
        profile.disable()


def print_profile(profiles: list) -> None:
    import pstats

    stats = pstats.Stats(*profiles)
    stats.strip_dirs()
    for order, what in (("cumulative", "with what they call"), ("tottime", "their own time")):
        print(f"\n-- importer CPU: top {TOP_FUNCTIONS} functions by {what} --")
        stats.sort_stats(order).print_stats(TOP_FUNCTIONS)


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process on this machine."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def ready_seconds(pid: int) -> float:
    """How long a process has waited, ready to run, for a CPU (Linux's /proc/PID/schedstat)."""
    with open(f"/proc/{pid}/schedstat") as stat:
        return int(stat.read().split()[1]) / 1e9


def import_here(account, sandbox_pid: int) -> None:
    """One account's import in this process, timed page by page; prints what it measured."""
    from django.db import connection

    from orders.services import importing

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    page_seconds: list[float] = []  # the page's transaction: every lock of the import lives inside it
    page_cpu: list[float] = []  # its CPU in the storing thread and PostgreSQL: what other work cannot slow
    page_ready: list[float] = []  # what it waited for a CPU, storing thread and PostgreSQL: others' work
    analyze_seconds: list[float] = []  # FreshStatistics between pages
    rss_samples: list[int] = []

    def timed(function, seconds: list[float]):
        def run(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                seconds.append(time.perf_counter() - started)
        return run

    store_page = timed(importing.upsert_orders, page_seconds)

    def page_with_cpu(**kwargs):
        cpu_before = time.thread_time() + cpu_seconds(backend)
        ready_before = ready_seconds(os.getpid()) + ready_seconds(backend)
        try:
            return store_page(**kwargs)
        finally:
            page_cpu.append(time.thread_time() + cpu_seconds(backend) - cpu_before)
            page_ready.append(ready_seconds(os.getpid()) + ready_seconds(backend) - ready_before)

    importing.upsert_orders = page_with_cpu
    importing.FreshStatistics.analyze = timed(importing.FreshStatistics.analyze, analyze_seconds)

    def progress(result):
        rss_samples.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)

    load_before = os.getloadavg()[0]
    cpu_before = time.process_time(), cpu_seconds(backend), cpu_seconds(sandbox_pid)
    reader_before = resource.getrusage(resource.RUSAGE_CHILDREN)  # the page reader, once it has ended
    profiles: list = []
    started = time.perf_counter()
    with profiled(profiles) if args.profile else contextlib.nullcontext():
        result = importing.account_import_orders(account_id=account.pk, progress=progress)
    elapsed = time.perf_counter() - started
    cpu_after = time.process_time(), cpu_seconds(backend), cpu_seconds(sandbox_pid)
    importer, database, channel = (after - before for before, after in zip(cpu_before, cpu_after))
    reader_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    reader = (reader_after.ru_utime + reader_after.ru_stime) - (reader_before.ru_utime + reader_before.ru_stime)
    tenth = max(1, len(page_seconds) // 10)
    print(f"machine: {_setup.machine()}; load average before the run: {load_before:.2f}")
    print(f"imported {result.created} orders × {args.lines} lines in {result.pages} pages: {elapsed:.1f}s, "
          f"{result.created / elapsed:.0f} orders/s (account options {'on' if args.with_store_orders else 'off'})")
    print(f"CPU seconds: importer {importer:.1f} (storing) + {reader:.1f} (its page reader), PostgreSQL backend "
          f"{database:.1f}, sandbox {channel:.1f} → {1000 * (importer + reader + database) / result.created:.2f} ms "
          f"of back-office CPU per order (storing {1000 * importer / result.created:.2f}, reader "
          f"{1000 * reader / result.created:.2f}, PostgreSQL {1000 * database / result.created:.2f})")
    print(f"page transaction (longest lock hold): median {1000 * statistics.median(page_seconds):.0f} ms, "
          f"max {1000 * max(page_seconds):.0f} ms; first 10% of pages median "
          f"{1000 * statistics.median(page_seconds[:tenth]):.0f} ms, last 10% "
          f"{1000 * statistics.median(page_seconds[-tenth:]):.0f} ms")
    print(f"page CPU (storing thread + PostgreSQL backend): median {1000 * statistics.median(page_cpu):.0f} ms; "
          f"first 10% of pages {1000 * statistics.median(page_cpu[:tenth]):.0f} ms, last 10% "
          f"{1000 * statistics.median(page_cpu[-tenth:]):.0f} ms; waiting for a CPU (other work) median "
          f"{1000 * statistics.median(page_ready):.0f} ms")
    print(f"ANALYZE between pages: {len(analyze_seconds)} times, {sum(analyze_seconds):.1f} s in all")
    quarter = max(1, len(rss_samples) // 4)
    print(f"peak RSS after 25% / 50% / 100% of pages: {rss_samples[quarter - 1]} / "
          f"{rss_samples[len(rss_samples) // 2]} / {rss_samples[-1]} MiB")
    if args.profile:
        print_profile(profiles)


def import_in_processes(accounts) -> None:
    """Each account's import in its own process (manage.py sync_orders on this database), all at once;
    prints the combined rate, the processes' CPU and memory, and the times from one page to the next
    of an account (each bounds that page's transaction)."""
    import subprocess
    import sys
    import threading
    from urllib.parse import urlparse

    from django.db import connection

    database_url = urlparse(os.environ["DATABASE_URL"])._replace(path=f"/{connection.settings_dict['NAME']}").geturl()
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1"}  # each line when it is said
    page_gaps: list[float] = []
    import_starts: list[float] = []  # when each process, Django set up, begins its import

    def time_pages(child: subprocess.Popen) -> None:
        last = None
        for line in child.stdout:
            now = time.perf_counter()
            if last is None:
                import_starts.append(now)  # sync_orders names the account, then imports it
            elif line.lstrip().startswith("page "):
                page_gaps.append(now - last)
            last = now

    load_before = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    children = [subprocess.Popen([sys.executable, str(_setup.ROOT / "manage.py"), "sync_orders", "--account",
                                  str(account.pk)], env=env, stdout=subprocess.PIPE, text=True)
                for account in accounts]
    waits: collections.Counter = collections.Counter()
    running = threading.Event()
    running.set()

    def sample_waits() -> None:
        """What the imports' PostgreSQL backends are doing, every 50 ms: a row lock is another
        account's page holding what this one needs (the number counters, with the options on)."""
        import psycopg

        with psycopg.connect(database_url, autocommit=True) as conn:
            while running.is_set():
                for (wait,) in conn.execute("SELECT coalesce(wait_event_type || ' ' || wait_event, 'CPU') FROM pg_stat_activity "
                                            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                                            "AND state = 'active'"):
                    waits[wait] += 1
                time.sleep(0.05)

    watchers = [threading.Thread(target=time_pages, args=(child,)) for child in children]
    watchers.append(threading.Thread(target=sample_waits))
    for watcher in watchers:
        watcher.start()
    failed = [child.args for child in children if child.wait() != 0]
    elapsed = time.perf_counter() - min(import_starts)
    running.clear()
    for watcher in watchers:
        watcher.join()
    if failed:
        raise SystemExit(f"import failed: {failed}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    orders = args.orders // len(accounts)
    print(f"machine: {_setup.machine()}; load average before the run: {load_before:.2f}")
    print(f"imported {orders} orders × {args.lines} lines into each of {len(accounts)} accounts at once: "
          f"{elapsed:.1f}s, {orders * len(accounts) / elapsed:.0f} orders/s in all (account options "
          f"{'on' if args.with_store_orders else 'off'}; from the first import's start to the last one's end)")
    print(f"importer processes: CPU {cpu:.1f} s in all ({1000 * cpu / (orders * len(accounts)):.2f} ms per order), "
          f"largest peak RSS {after.ru_maxrss // 1024} MiB (Django's start in each process included)")
    print(f"from one page to the next of an account (bounds the page's transaction, every lock of the import): "
          f"median {1000 * statistics.median(page_gaps):.0f} ms, max {1000 * max(page_gaps):.0f} ms")
    sampled = sum(waits.values()) or 1
    print("their PostgreSQL backends while busy (sampled every 50 ms): " + ", ".join(
        f"{100 * count / sampled:.0f}% {wait}" for wait, count in waits.most_common()) + " (Lock: waiting for "
        "another account's page; Client: for the importer's next statement or COPY data)")


drop = _setup.test_database()
try:
    import socket
    import subprocess
    import sys

    import requests

    from orders.models import Order
    from tests.factories import ChannelAccountFactory

    # The sandbox runs in its own process, as a real channel would: it does not share our GIL.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    sandbox = subprocess.Popen([sys.executable, str(_setup.ROOT / "manage.py"), "sandbox", "--port", str(port),
                                "--seed-orders", "0", "--new-orders-every", "0"], stdout=subprocess.DEVNULL)
    try:
        accounts = [ChannelAccountFactory(base_url=url, create_store_order=args.with_store_orders,
                                          auto_invoice=args.with_store_orders,
                                          credentials={"client_id": f"bench-{n}", "client_secret": "bench-secret"})
                    for n in range(args.accounts)]
        for n in range(args.accounts):  # each account's orders are its own (the sandbox's seller)
            for _ in range(100):
                try:
                    requests.post(f"{url}/_sandbox/walmart/orders", timeout=600, json={
                        "count": args.orders // args.accounts, "lines": args.lines, "seller": f"bench-{n}",
                    }).raise_for_status()
                    break
                except requests.ConnectionError:
                    time.sleep(0.1)
        if args.accounts == 1:
            import_here(accounts[0], sandbox.pid)
        else:
            import_in_processes(accounts)
    finally:
        sandbox.terminate()
    assert Order.objects.count() == args.orders // args.accounts * args.accounts
    if args.with_store_orders:
        assert not Order.objects.filter(store_order_number__isnull=True).exists()
finally:
    drop()
