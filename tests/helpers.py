import time

from django.db.models import Exists, OuterRef

from orders import outbox
from orders.models import ChannelAction

State = ChannelAction.State


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
