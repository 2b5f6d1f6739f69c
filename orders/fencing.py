"""Fencing of claimed channel actions (R-REL-2): a worker that no longer holds its claim never
sends and never writes.

Every claim — of one action, or of a drain's batch of one account's bulk actions — gets a fresh token.
The worker checks it, per action, in the same transaction that records an outcome, and again (renewing
the lease) right before each channel call; leases are also renewed while the calls run. A worker paused past its lease (GC pause, SIGSTOP, a slow disk) finds its token gone
once the action was taken over, and backs off.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from django.conf import settings
from django.db import connection
from django.utils import timezone

from .models import ChannelAction

logger = logging.getLogger("orders.outbox")


class StaleClaim(Exception):
    """This worker's claim on the action expired and may have been taken over."""


def new_claim_token() -> uuid.UUID:
    return uuid.uuid4()


def lease_end() -> dt.datetime:
    return timezone.now() + dt.timedelta(seconds=settings.CHANNEL_ACTION_LEASE_SECONDS)


def fenced_update(action: ChannelAction, **fields) -> None:
    """UPDATE the action only while this worker's claim holds; StaleClaim otherwise."""
    if action.claim_token is None:
        raise StaleClaim(f"channel action {action.pk} was not claimed by this worker")
    if not ChannelAction.objects.filter(pk=action.pk, claim_token=action.claim_token).update(**fields):
        raise StaleClaim(f"channel action {action.pk}: claim lost")


def hold_claim(action: ChannelAction, **fields) -> None:
    """Right before a channel call: renew the lease (writing `fields` with it) or raise StaleClaim."""
    fenced_update(action, lease_expires_at=lease_end(), **fields)


@contextmanager
def lease_kept(actions: Sequence[ChannelAction]) -> Iterator[None]:
    """Renew the leases of the claimed actions every third of a lease while the block (their channel
    calls) runs; one whose claim was lost, or whose outcome is recorded, is left alone. Each renewal
    is its own one-row UPDATE: it never holds one action's row while waiting for another's, so it
    cannot deadlock with the transaction recording the batch's outcomes."""
    done = threading.Event()
    interval = settings.CHANNEL_ACTION_LEASE_SECONDS / 3

    lost: set[int] = set()

    def renew() -> None:
        try:
            while not done.wait(interval):
                for action in actions:
                    if action.claim_token is None or action.pk in lost:
                        continue  # recorded already, or taken over
                    try:
                        hold_claim(action)
                    except StaleClaim:
                        if action.claim_token is not None:  # not just recorded meanwhile
                            lost.add(action.pk)
                            logger.warning("channel action %s: lease lost during the channel calls", action.pk)
        finally:
            connection.close()  # this thread's own connection

    keeper = threading.Thread(target=renew, name=f"lease-{actions[0].pk}", daemon=True)
    keeper.start()
    try:
        yield
    finally:
        done.set()
        keeper.join()


def log_backed_off(action: ChannelAction, stage: str) -> None:
    logger.warning("channel action %s (%s): this worker's claim expired and was taken over; backing off %s "
                   "without sending or writing", action.pk, action.description, stage)
