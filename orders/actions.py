"""The order actions operators run from the grid (bulk) and the detail page (one order), R-GRID-3.

Each action is one service call per order; a refusal skips that order with its reason. Small
selections run in the request; large ones become a BulkJob run by a worker, with visible progress.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django import forms
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.http import QueryDict
from django.utils import timezone

from . import outbox
from .batching import settle_when_drained
from .bulk import BulkResult, ServiceForMany, run_for_each_order
from .forms import CancelForm, ShipForm, tracking_from_params
from .handoff import hand_off
from .locks import lock_orders
from .models import BulkJob, ChannelAction, Order
from .selectors import cancel_form_kwargs, order_list, ship_form_kwargs
from .services.acknowledge import order_acknowledge, orders_acknowledge
from .services.cancel import order_cancel
from .services.shipments import order_resend_shipping, order_ship
from .services.stock import stock_moves
from .services.store_orders import order_create_store_order, orders_create_store_orders

INLINE_LIMIT = 200  # larger selections run in the background


@dataclass(frozen=True)
class OrderAction:
    name: str
    label: str
    service: Callable[..., object]  # service(order_id=…, user=…, **params)
    form_class: type[forms.Form] | None = None
    # Extra keyword arguments of the form, read from the orders it acts on.
    form_kwargs: Callable[..., dict] | None = None
    queues_channel_change: bool = True  # its result is "queued" until the channel confirms
    service_for_many: ServiceForMany | None = None  # the service on many orders in one call (orders.bulk)
    # Run in the request on a small selection, it is still recorded as a bulk job (what it did, and its
    # channel actions' outcomes). Not Retry Failed Sync: the actions it re-queues stay with their job.
    recorded_when_inline: bool = True

    @property
    def done_word(self) -> str:
        return "queued" if self.queues_channel_change else "done"


def _ship(*, order_id: int, user=None, **params):
    return order_ship(order_id=order_id, tracking=tracking_from_params(params), user=user,
                      despite_cancel_request=params.get("despite_cancel_request", False))


ACTIONS = {
    action.name: action
    for action in (
        OrderAction("create_store_order", "Create Store Order", order_create_store_order, queues_channel_change=False,
                    service_for_many=orders_create_store_orders),
        OrderAction("acknowledge", "Acknowledge", order_acknowledge, service_for_many=orders_acknowledge),
        OrderAction("mark_shipped", "Mark as Shipped", _ship, ShipForm, ship_form_kwargs),
        OrderAction("resend_shipping", "Resend Shipping Information", order_resend_shipping),
        OrderAction("cancel", "Cancel", order_cancel, CancelForm, cancel_form_kwargs),
        OrderAction("retry_failed_sync", "Retry Failed Sync", outbox.order_retry_failed_actions,
                    recorded_when_inline=False),
    )
}
CHUNK = {True: 500, False: 50}  # orders per transaction of a bulk job: set-based actions take bigger ones


def run_action(*, name: str, params: dict, user: AbstractBaseUser | None, order_ids: list[int] | None = None,
               filters: dict[str, list[str]] | None = None, up_to_order_id: int | None = None,
               record: bool = False, shown_count: int | None = None,
               shown_as_estimate: bool = False) -> BulkResult | BulkJob:
    """Run now (small selections) or hand to a worker as a BulkJob (large ones). `filters`: every
    order the grid's filters match ("select all") up to `up_to_order_id` (the newest the operator
    saw); the job is recorded as those filters, not as a list of ids, and the worker resolves them
    in chunks. `record`: a bulk action (not one order's button) run now is recorded as a finished
    BulkJob too, with what it did. `shown_count` / `shown_as_estimate`: the count the confirmation
    page gave, kept on the job to compare with what it took (bulk_job_count_note)."""
    action = ACTIONS[name]
    shown = {"shown_count": shown_count, "shown_as_estimate": shown_as_estimate}
    if filters is None and len(order_ids) <= INLINE_LIMIT:
        if record and action.recorded_when_inline:
            return _run_recorded(action, order_ids=order_ids, params=params, user=user, **shown)
        return run_for_each_order(order_ids=order_ids, action=action.service, action_for_many=action.service_for_many,
                                  user=user, **params)
    with transaction.atomic():
        job = BulkJob.objects.create(action=name, label=action.label, params=params, order_ids=order_ids or [],
                                     filters=filters, selected_up_to_id=up_to_order_id, total=len(order_ids or []),
                                     created_by=user if user and user.pk else None, **shown)
        hand_off("orders.tasks.run_bulk_job", job.pk)
    return job


def _run_recorded(action: OrderAction, *, order_ids: list[int], params: dict, user: AbstractBaseUser | None,
                  shown_count: int | None, shown_as_estimate: bool) -> BulkResult:
    """A small selection run in the request, recorded as a bulk job like a large one: the Bulk jobs
    list shows what it did (processed, done, skipped and why) and follows its channel actions."""
    job = BulkJob.objects.create(action=action.name, label=action.label, params=params, order_ids=order_ids,
                                 total=len(order_ids), state=BulkJob.State.RUNNING,
                                 created_by=user if user and user.pk else None, shown_count=shown_count,
                                 shown_as_estimate=shown_as_estimate)
    try:
        result = run_for_each_order(order_ids=order_ids, action=action.service, bulk_job_id=job.pk,
                                    action_for_many=action.service_for_many, user=user, **params)
    except Exception as failure:
        job.state, job.error = BulkJob.State.FAILED, f"{type(failure).__name__}: {failure}"
        job.finished_at = timezone.now()
        job.save(update_fields=["state", "error", "finished_at"])
        raise
    job.processed, job.done, job.skipped = len(order_ids), result.done, dict(result.skipped)
    job.last_order_id = max(order_ids, default=0)
    job.state = BulkJob.State.WAITING  # Done once its channel actions are settled (at once when it queued none)
    job.save(update_fields=["processed", "done", "skipped", "last_order_id", "state"])
    bulk_job_settle(job_id=job.pk)
    result.job_id = job.pk
    return result


def bulk_job_run(*, job_id: int) -> BulkJob:
    """Carry out a queued bulk job, saving progress as it goes; a re-run continues where it stopped."""
    job = BulkJob.objects.select_related("created_by").get(pk=job_id)
    if job.state in BulkJob.SETTLED_STATES:
        return job
    action = ACTIONS[job.action]
    job.state = BulkJob.State.RUNNING
    if job.filters is not None and not job.total:
        # The progress bar's length, counted in the background; kept, as what the job found at its start.
        job.total = job.counted_at_start = _matching(job).count()
    job.save(update_fields=["state", "total", "counted_at_start"])
    skipped = Counter(job.skipped)
    try:
        for chunk in _chunks(job, size=CHUNK[action.service_for_many is not None]):
            # One transaction per chunk, progress included: a worker that dies redoes the chunk, never
            # half of it, and the database takes one commit (SQLite: one write lock) per chunk. The
            # chunk's orders are locked first, in pk order, and their stock written last (orders.locks).
            with transaction.atomic(), stock_moves():
                locked = [order.pk for order in lock_orders(chunk)]
                result = run_for_each_order(order_ids=locked, action=action.service, bulk_job_id=job.pk,
                                            action_for_many=action.service_for_many, user=job.created_by,
                                            **job.params)
                skipped.update(result.skipped)
                job.done += result.done
                job.processed += len(chunk)
                job.total = max(job.total, job.processed)  # orders that came to match meanwhile
                job.last_order_id = max(chunk)
                job.skipped = dict(skipped)
                job.save(update_fields=["done", "processed", "total", "last_order_id", "skipped"])
    except Exception as failure:
        job.state, job.error = BulkJob.State.FAILED, f"{type(failure).__name__}: {failure}"
        job.finished_at = timezone.now()
        job.save(update_fields=["state", "error", "finished_at"])
        raise
    # What it took: fewer than counted at the start when some orders stopped matching the filters
    # meanwhile (the count at the start stays, and the job's page says why they differ).
    job.state, job.total = BulkJob.State.WAITING, job.processed
    job.save(update_fields=["state", "total"])
    return bulk_job_settle(job_id=job.pk)


def _matching(job: BulkJob):
    """The orders the job's grid filters match now (stored as the grid's query parameters)."""
    query = QueryDict(mutable=True)
    for name, values in job.filters.items():
        query.setlist(name, values)
    matching = order_list(filters=query, queryset=Order.objects.all())
    if job.selected_up_to_id is not None:
        matching = matching.filter(pk__lte=job.selected_up_to_id)
    return matching


def _chunks(job: BulkJob, *, size: int) -> Iterator[list[int]]:
    """The job's orders not processed yet, a chunk at a time: its list, or its filters read in pk
    order after the last order done (memory stays one chunk whatever the selection)."""
    if job.filters is None:
        remaining = job.order_ids[job.processed:]
        for start in range(0, len(remaining), size):
            yield remaining[start:start + size]
        return
    matching = _matching(job)
    while chunk := list(matching.filter(pk__gt=job.last_order_id).order_by("pk").values_list("pk", flat=True)[:size]):
        yield chunk


def bulk_job_settle(*, job_id: int) -> BulkJob:
    """A job whose orders are all processed is settled once none of its channel actions is open (Done,
    or Finished with failures when one failed), and Waiting for the channel again when one of them is
    retried. Lock order: the order row (held by
    an outcome being recorded), then its bulk job."""
    with transaction.atomic():
        job = BulkJob.objects.select_for_update().only("state", "finished_at").get(pk=job_id)
        if job.state not in (BulkJob.State.WAITING, *BulkJob.SETTLED_STATES):
            return job  # still running: bulk_job_run settles it at its end
        waiting = job.actions.filter(state__in=ChannelAction.OPEN_STATES).exists()
        if waiting:
            state = BulkJob.State.WAITING
        elif job.actions.filter(state=ChannelAction.State.FAILED).exists():
            state = BulkJob.State.SOME_FAILED
        else:
            state = BulkJob.State.DONE
        if state != job.state:
            job.state, job.finished_at = state, None if waiting else timezone.now()
            job.save(update_fields=["state", "finished_at"])
    return job


def bulk_jobs_settle_waiting() -> None:
    for job_id in BulkJob.objects.filter(state=BulkJob.State.WAITING).values_list("pk", flat=True):
        bulk_job_settle(job_id=job_id)


@outbox.on_action_outcome
def _settle_bulk_job_of(action: ChannelAction) -> None:
    if action.bulk_job_id and not settle_when_drained(action.bulk_job_id):
        bulk_job_settle(job_id=action.bulk_job_id)


def bulk_job_count_note(job: BulkJob) -> str:
    """Why the orders the job took differ from the count its confirmation page gave, in words ("" when
    they agree). A large "select all" is counted from the database's estimate on that page, exactly
    when the job starts, and orders can come to match its filters, or stop matching, while it runs."""
    if job.shown_count is None:
        return ""
    plural = "" if job.shown_count == 1 else "s"
    said = (f"The confirmation page said about {job.shown_count:,} order{plural}, the database's estimate for a "
            "selection this large" if job.shown_as_estimate
            else f"The confirmation page counted {job.shown_count:,} order{plural}")
    if job.filters is None:  # the ids were taken when the operator confirmed
        return "" if job.total == job.shown_count else f"{said}; {job.total:,} matched when it was confirmed."
    counted = job.counted_at_start
    if counted is None:
        return f"{said}; the job counts them exactly when it starts." if job.shown_as_estimate else ""
    notes = [f"{said}; counted exactly when the job started, they were {counted:,}."] if (
        job.shown_as_estimate or counted != job.shown_count) else []
    if job.state not in (BulkJob.State.QUEUED, BulkJob.State.RUNNING, BulkJob.State.FAILED):
        taken = job.processed
        if taken > counted:
            notes.append(f"It took {taken:,}: {taken - counted:,} more came to match the filters while it ran "
                         "(none newer than the confirmation page).")
        elif taken < counted:
            notes.append(f"It took {taken:,}: {counted - taken:,} no longer matched the filters when their turn came.")
    return " ".join(notes)


class Outcome:
    DONE, FAILED, WAITING = "done", "failed", "waiting"


def bulk_job_order_outcomes(job: BulkJob) -> dict[int, str]:
    """Per order of the job that queued channel actions: failed if one of them failed, waiting
    while one is open, done once the channel confirmed them all."""
    outcomes: dict[int, str] = {}
    for order_id, state in job.actions.values_list("order_id", "state"):
        if state == ChannelAction.State.FAILED:
            outcomes[order_id] = Outcome.FAILED
        elif state in ChannelAction.OPEN_STATES and outcomes.get(order_id) != Outcome.FAILED:
            outcomes[order_id] = Outcome.WAITING
        else:
            outcomes.setdefault(order_id, Outcome.DONE)
    return outcomes


def bulk_job_summary(job: BulkJob) -> str:
    """What the job did so far, in the operator's words: nothing is claimed before a worker started it,
    and its channel actions are counted as the channel answered them."""
    if job.state == BulkJob.State.QUEUED:
        return f"{job.label}: not started yet — waiting for a worker ({job.size_in_words})."
    action = ACTIONS.get(job.action)
    result = BulkResult(done=job.done, skipped=Counter(job.skipped))
    text = result.summary(job.label, done_word=action.done_word if action else "done")
    if job.state == BulkJob.State.RUNNING:
        text += f" So far {job.processed} of {job.size_in_words} gone through."
    if action and action.queues_channel_change:
        counts = Counter(bulk_job_order_outcomes(job).values())
        text += (f" On the channel: {counts[Outcome.DONE]} done, {counts[Outcome.FAILED]} failed, "
                 f"{counts[Outcome.WAITING]} waiting.")
    return text
