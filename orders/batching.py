"""Channel actions queued many at once (bulk actions) are carried out by drain tasks, not by one broker
message each.

The embedded broker (kombu's filesystem transport) delivers roughly one message a second, so one
message per action made a 1,000-order bulk action take a quarter of an hour. A drain task claims
due actions one after another, with the same claim as a single action (SKIP LOCKED and a lease),
until none is due; a few drains run side by side on the worker's processes and split the work.
A single operator action still gets its own message, which is the quickest path for one.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction


@dataclass
class ActionBatch:
    bulk_job_id: int | None = None
    queued: int = 0


_batch: ContextVar[ActionBatch | None] = ContextVar("channel_action_batch", default=None)
_draining: ContextVar[bool] = ContextVar("draining_channel_actions", default=False)


def current_batch() -> ActionBatch | None:
    """The batch that actions queued now belong to, if any (outbox.enqueue_action asks)."""
    return _batch.get()


def draining() -> bool:
    """True inside a drain task: an action that becomes due is taken by its loop, no message needed."""
    return _draining.get()


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
def draining_channel_actions() -> Iterator[None]:
    token = _draining.set(True)
    try:
        yield
    finally:
        _draining.reset(token)


def dispatch_drains() -> None:
    """Start the drain tasks, one per worker process."""
    from .outbox import dispatch_drain

    for _ in range(settings.CHANNEL_ACTION_DRAINS):
        dispatch_drain()
