"""Channel actions queued many at once (bulk actions) are carried out by drain tasks, not by one broker
message each.

The embedded broker (kombu's filesystem transport) delivers roughly one message a second, so one
message per action made a 1,000-order bulk action take a quarter of an hour. Actions queued inside
`batched_channel_actions` (every bulk action, inline or as a BulkJob) send no message of their own:
once their transaction commits, CHANNEL_ACTION_DRAINS drain tasks are started, each claiming due
actions until none is due — an operator's click alone, else up to CHANNEL_ACTION_BULK_BATCH bulk actions
of one account together (SKIP LOCKED and one lease), whose confirmations it records in one transaction
(orders.outbox); the drains run side by side on the worker's processes and split the work. A drain also
skips what only a message-per-action worker needs (handing the order's next action on, settling the
bulk job after every outcome): its loop takes the next action, and it settles the bulk jobs it
touched once, when it ends (beat's sweep settles any a dying drain left Waiting).

An action queued on its own (one order from its detail page) still gets its own message when its
transaction commits, the quickest path for one; several queued in one go outside a batch (an import's
automation, outbox.enqueue_actions) start drains too.

An action a drain puts off (a retry's backoff, the channel's rate limit, a feed to read later) gets no
message of its own either: the drain notes when it is due and, as it ends, starts one drain for then.
A message per put-off action is what flooded the embedded broker in `make run`: a bulk Acknowledge of
333 Walmart orders, paced to Walmart's 60 a minute, sent over a thousand messages a minute, and an
operator's click waited behind them for more than a minute.
"""

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction


@dataclass
class ActionBatch:
    bulk_job_id: int | None = None
    queued: int = 0


_batch: ContextVar[ActionBatch | None] = ContextVar("channel_action_batch", default=None)
@dataclass
class Drain:
    bulk_jobs: set[int] = field(default_factory=set)  # to settle when the drain ends
    next_due: dt.datetime | None = None  # the soonest an action the drain put off is due


_draining: ContextVar[Drain | None] = ContextVar("draining_channel_actions", default=None)


def current_batch() -> ActionBatch | None:
    """The batch that actions queued now belong to, if any (outbox.enqueue_action asks)."""
    return _batch.get()


def draining() -> bool:
    """True inside a drain task: an action that becomes due is taken by its loop, no message needed."""
    return _draining.get() is not None


def settle_when_drained(bulk_job_id: int) -> bool:
    """Inside a drain, note the bulk job to settle when the drain ends (True); outside, False."""
    drain = _draining.get()
    if drain is None:
        return False
    drain.bulk_jobs.add(bulk_job_id)
    return True


def due_again_after_drain(at: dt.datetime) -> bool:
    """Inside a drain, note that an action it put off is due at `at` (True); outside, False."""
    drain = _draining.get()
    if drain is None:
        return False
    drain.next_due = at if drain.next_due is None else min(drain.next_due, at)
    return True


@contextmanager
def batched_channel_actions(*, bulk_job_id: int | None = None) -> Iterator[ActionBatch]:
    """Actions queued inside are tagged with the bulk job and handed to drain tasks once committed."""
    batch = ActionBatch(bulk_job_id=bulk_job_id)
    token = _batch.set(batch)
    try:
        yield batch
    finally:
        _batch.reset(token)
        if batch.queued:
            transaction.on_commit(dispatch_drains)


@contextmanager
def draining_channel_actions() -> Iterator[Drain]:
    """Yields the drain's notes: the bulk jobs to settle at its end, and when to drain again."""
    drain = Drain()
    token = _draining.set(drain)
    try:
        yield drain
    finally:
        _draining.reset(token)


def dispatch_drains() -> None:
    """Start the drain tasks, one per worker process."""
    from .outbox import dispatch_drain

    for _ in range(settings.CHANNEL_ACTION_DRAINS):
        dispatch_drain()
