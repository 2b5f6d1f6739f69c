"""The order actions operators run from the grid (bulk) and the detail page (one order), R-GRID-3.

Each action is one service call per order; a refusal skips that order with its reason. Small
selections run in the request; large ones become a BulkJob run by a worker, with visible progress.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from . import outbox
from .bulk import BulkResult, run_for_each_order
from .forms import CancelForm, ShipForm, tracking_from_params
from .models import BulkJob
from .services.acknowledge import order_acknowledge
from .services.cancel import order_cancel
from .services.shipments import order_resend_shipping, order_ship
from .services.store_orders import order_create_store_order

INLINE_LIMIT = 200  # larger selections run in the background
PROGRESS_EVERY = 50


@dataclass(frozen=True)
class OrderAction:
    name: str
    label: str
    service: Callable[..., object]  # service(order_id=…, user=…, **params)
    form_class: type[forms.Form] | None = None


def _ship(*, order_id: int, user=None, **params):
    return order_ship(order_id=order_id, tracking=tracking_from_params(params), user=user)


ACTIONS = {
    action.name: action
    for action in (
        OrderAction("create_store_order", "Create Store Order", order_create_store_order),
        OrderAction("acknowledge", "Acknowledge", order_acknowledge),
        OrderAction("mark_shipped", "Mark as Shipped", _ship, ShipForm),
        OrderAction("resend_shipping", "Resend Shipping Information", order_resend_shipping),
        OrderAction("cancel", "Cancel", order_cancel, CancelForm),
        OrderAction("retry_failed_sync", "Retry Failed Sync", outbox.order_retry_failed_actions),
    )
}


def run_action(*, name: str, order_ids: list[int], params: dict, user: AbstractBaseUser | None) -> BulkResult | BulkJob:
    """Run now (small selections) or hand to a worker as a BulkJob (large ones)."""
    action = ACTIONS[name]
    if len(order_ids) <= INLINE_LIMIT:
        return run_for_each_order(order_ids=order_ids, action=action.service, user=user, **params)
    job = BulkJob.objects.create(action=name, label=action.label, params=params, order_ids=order_ids,
                                 total=len(order_ids), created_by=user if user and user.pk else None)

    def start() -> None:
        from .tasks import run_bulk_job

        run_bulk_job.delay(job.pk)

    transaction.on_commit(start)
    return job


def bulk_job_run(*, job_id: int) -> BulkJob:
    """Carry out a queued bulk job, saving progress as it goes; a re-run continues where it stopped."""
    job = BulkJob.objects.select_related("created_by").get(pk=job_id)
    if job.state == BulkJob.State.DONE:
        return job
    action = ACTIONS[job.action]
    job.state = BulkJob.State.RUNNING
    job.save(update_fields=["state"])
    skipped = Counter(job.skipped)
    remaining = job.order_ids[job.processed:]
    try:
        for start in range(0, len(remaining), PROGRESS_EVERY):
            chunk = remaining[start:start + PROGRESS_EVERY]
            result = run_for_each_order(order_ids=chunk, action=action.service, user=job.created_by, **job.params)
            skipped.update(result.skipped)
            job.done += result.done
            job.processed += len(chunk)
            job.skipped = dict(skipped)
            job.save(update_fields=["done", "processed", "skipped"])
    except Exception as failure:
        job.state, job.error = BulkJob.State.FAILED, f"{type(failure).__name__}: {failure}"
        job.finished_at = timezone.now()
        job.save(update_fields=["state", "error", "finished_at"])
        raise
    job.state, job.finished_at = BulkJob.State.DONE, timezone.now()
    job.save(update_fields=["state", "finished_at"])
    return job


def bulk_job_summary(job: BulkJob) -> str:
    result = BulkResult(done=job.done, skipped=Counter(job.skipped))
    return result.summary(job.label) + ("" if job.state == BulkJob.State.DONE else f" ({job.processed}/{job.total} so far)")
