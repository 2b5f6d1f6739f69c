import threading
import time
from collections.abc import Callable

from django.db import close_old_connections, connection
from django.db.models import Exists, OuterRef
from django.utils import timezone

from orders import outbox
from orders.models import ChannelAction

State = ChannelAction.State


def wait_until_due(action: ChannelAction) -> None:
    """Until the action (its retry, or its submission's next poll) is due: a worker takes it no sooner."""
    action.refresh_from_db()
    time.sleep(max(0.0, (action.next_attempt_at - timezone.now()).total_seconds()))


def drain_actions(*, timeout: float = 15.0) -> list:
    """Run the outbox until nothing can make progress (retries included), as a worker would.
    Actions waiting behind a failed one of the same order are left waiting, as in production."""
    deadline = time.monotonic() + timeout
    outcomes = []
    while time.monotonic() < deadline:
        outbox.recover_expired_leases()
        outcomes += outbox.process_due_actions()
        failed_before = ChannelAction.objects.filter(order=OuterRef("order"), pk__lt=OuterRef("pk"), state=State.FAILED)
        runnable = ChannelAction.objects.filter(
            state__in=[State.PENDING, State.IN_FLIGHT, State.SUBMITTED]).exclude(Exists(failed_before))
        if not runnable.exists():
            return outcomes
        time.sleep(0.02)
    raise AssertionError("channel actions still pending after the timeout")


def run_concurrently(work: Callable[[], object], *, workers: int = 2) -> list:
    """Start `workers` threads on `work` at the same moment (each with its own database connection);
    returns what each returned, or the exception it raised."""
    barrier = threading.Barrier(workers)
    results: list = []

    def run() -> None:
        try:
            barrier.wait()
            results.append(work())
        except Exception as raised:  # noqa: BLE001 (collected for the test to assert on)
            results.append(raised)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    close_old_connections()
    return results


def ups_tracking(serial: int = 0) -> str:
    """A valid UPS tracking number (check digit included), distinct per serial."""
    body = f"999AA101{serial:07d}"
    total = sum((int(c) if c.isdigit() else (ord(c) - 63) % 10) * (2 if i % 2 else 1) for i, c in enumerate(body))
    return f"1Z{body}{(10 - total % 10) % 10}"


def wait_for(condition: Callable[[], object], *, timeout: float = 30.0, what: str | Callable[[], str] = "") -> float:
    """Seconds until `condition()` is true; fails the test after `timeout`, saying `what` (or what
    `what()` says then)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if condition():
            return time.monotonic() - started
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what() if callable(what) else what}")
