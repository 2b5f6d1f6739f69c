"""Handing work to Celery the way the outbox does it: the work is saved first (a TaskHandoff row in
the caller's transaction), sent once that transaction commits, and if the broker is down the page
still answers: `sweep_handoffs` (beat) sends whatever was not delivered once the broker is back.
Every hand-off to Celery goes through here or through the outbox (tests/orders/test_handoff.py
checks our source, and every admin class and action on the site, a library's too: access/admin.py
re-routes django-celery-beat's "Run selected tasks"). Tasks sent this way must be safe to run twice.
How long a publish may wait on a broker that does not answer is bounded in settings
(CELERY_BROKER_CONNECT_TIMEOUT, CELERY_BROKER_SOCKET_TIMEOUT, the publish retry policy)."""

import datetime as dt
import logging

from celery import current_app
from django.db import transaction
from django.utils import timezone

from .models import TaskHandoff

logger = logging.getLogger("orders.handoff")

# A hand-off younger than this may still be on its way from its own request's on_commit.
SWEEP_GRACE = dt.timedelta(seconds=30)
KEEP_SENT = dt.timedelta(days=7)


def hand_off(task_name: str, *args: object) -> TaskHandoff:
    """Save the work and send it after commit. Call inside the transaction that records the work
    (or anywhere: outside a transaction the row is saved and sent at once)."""
    handoff = TaskHandoff.objects.create(task=task_name, args=list(args))
    transaction.on_commit(lambda: send_handoff(handoff_id=handoff.pk))
    return handoff


def send_handoff(*, handoff_id: int) -> bool:
    """Publish one hand-off; False (and nothing raised) when the broker can't take it."""
    from . import tasks  # noqa: F401  (registers the tasks by name)

    handoff = TaskHandoff.objects.get(pk=handoff_id)
    if handoff.sent_at:
        return True
    try:
        current_app.tasks[handoff.task].apply_async(args=handoff.args)
    except Exception as failure:  # broker down or unreachable: the sweep sends it later
        logger.warning("could not hand %s to Celery; the sweep will", handoff, exc_info=True)
        TaskHandoff.objects.filter(pk=handoff.pk).update(
            attempts=handoff.attempts + 1, last_error=f"{type(failure).__name__}: {failure}"[:300])
        return False
    TaskHandoff.objects.filter(pk=handoff.pk).update(sent_at=timezone.now(), attempts=handoff.attempts + 1)
    return True


def sweep_handoffs(*, grace: dt.timedelta = SWEEP_GRACE, limit: int = 500) -> int:
    """Send the hand-offs that were never delivered; how many were sent now."""
    TaskHandoff.objects.filter(sent_at__lt=timezone.now() - KEEP_SENT).delete()
    unsent = TaskHandoff.objects.filter(sent_at__isnull=True, created_at__lte=timezone.now() - grace)
    sent = 0
    for handoff_id in unsent.order_by("created_at").values_list("pk", flat=True)[:limit]:
        if not send_handoff(handoff_id=handoff_id):
            break  # the broker is still down: try again on the next sweep
        sent += 1
    return sent
