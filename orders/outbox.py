"""The outbox of channel actions (SPEC §6, R-SYNC-3/4, R-REL-2).

A service writes an action with its local change (`enqueue_actions`, inside the same transaction);
it is dispatched to a worker when that transaction commits, and swept by beat as a safety net.
A worker claims it (SKIP LOCKED, plus a lease so a dead worker's claim expires), calls the channel
outside any transaction, and records the outcome. Ambiguous failures (timeouts, dropped
connections, 5xx, unreadable answers) mark the action for verification: before it is sent again
the order is read back, and whatever already landed is recorded, not resent.

This module is the one place that turns action rows into channel requests and back.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Case, CharField, Exists, F, OuterRef, Value, When
from django.utils import timezone

from channels.capabilities import rules_for
from channels.clients import (
    ActionReceipt,
    CancelRequest,
    ChannelError,
    ChannelOrder,
    LineQuantity,
    PermanentChannelError,
    ReadBackAnswers,
    RefundLine,
    RefundRequest,
    RetryableChannelError,
    ShipmentRequest,
)
from channels.models import Channel, ChannelAccount
from channels.http import checked_before_each_mutation
from channels.pacing import PacedChannelError, taking_only_tokens_there
from channels.registry import client_for

from . import verification
from .batching import current_batch, dispatch_drains, draining, due_again_after_drain
from .copy import copy_insert, new_row, reserve_ids
from .fencing import (
    StaleClaim,
    fenced_update,
    hold_claim,
    lease_end,
    lease_kept,
    log_backed_off,
    new_claim_token,
)
from .locks import lock_order, lock_order_rows
from .log import Initiator, LogEntry, Type, order_log_write, order_log_write_many
from .models import ChannelAction, Order, Shipment, SyncState
from .services.errors import OrderActionRefused

logger = logging.getLogger("orders.outbox")
State = ChannelAction.State
Kind = ChannelAction.Kind
Lane = ChannelAction.Lane
STALE = "stale"  # the outcome of a worker that lost its claim: it did nothing


# -- listeners -------------------------------------------------------------------------------------

OutcomeListener = Callable[[ChannelAction], None]
_outcome_listeners: list[OutcomeListener] = []


def on_action_outcome(listener: OutcomeListener) -> OutcomeListener:
    """Register a function called, inside the outcome's transaction, whenever an action succeeds or
    fails for good. Apps that point at actions (credit memos) follow them this way, so orders/
    never imports them."""
    if listener not in _outcome_listeners:
        _outcome_listeners.append(listener)
    return listener


def _notify(action: ChannelAction) -> None:
    for listener in _outcome_listeners:
        listener(action)


# -- writing --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class QueuedAction:
    """One channel change to queue: what `enqueue_actions` writes as an outbox row."""

    order: Order
    kind: str
    description: str
    payload: dict = field(default_factory=dict)
    shipment: Shipment | None = None


def enqueue_action(
    *,
    order: Order,
    kind: str,
    description: str,
    payload: dict | None = None,
    shipment: Shipment | None = None,
    user: AbstractBaseUser | None = None,
) -> ChannelAction:
    """Queue one channel change. Call inside the transaction that makes the local change."""
    [action] = enqueue_actions(actions=[QueuedAction(order, kind, description, payload or {}, shipment)], user=user)
    order.sync_state, order.sync_error = Order.objects.values_list("sync_state", "sync_error").get(pk=order.pk)
    return action


def enqueue_actions(*, actions: Sequence[QueuedAction], user: AbstractBaseUser | None = None,
                    new_orders: bool = False, log: bool = True, lane: str | None = None) -> list[ChannelAction]:
    """Queue channel changes, inside the transaction of the local change (orders locked by it).

    One action is handed to a worker on its own when the transaction commits, the quickest path
    for a single click; several are written in one go and carried out by drain tasks
    (orders.batching). `new_orders`: the orders were created by this very transaction and have no
    other action (the import's automation marked them Waiting already, `mark_waiting`). `log=False`:
    the caller writes the "queued" lines (`queued_lines`) with its own, in story order.

    Lanes (issue 14): actions of a bulk job or of the import's automation go to the bulk lane; the
    rest — an operator's click — to the interactive lane, which workers serve first. An interactive
    action's order takes its earlier bulk actions along (a ship must not wait behind its order's
    acknowledgement stuck in the bulk lane)."""
    if not actions:
        return []
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("enqueue_actions() must run inside the transaction of the local change")
    batch = current_batch()
    lane = lane or (Lane.BULK if batch or new_orders else Lane.INTERACTIVE)
    now = timezone.now()
    created_by = user if user and user.pk else None
    rows = [
        new_row(
            ChannelAction,
            order_id=queued.order.pk,
            bulk_job_id=batch.bulk_job_id if batch else None,
            account_id=queued.order.account_id,
            shipment_id=queued.shipment.pk if queued.shipment else None,
            kind=queued.kind,
            description=queued.description,
            payload=queued.payload,
            lane=lane,
            next_attempt_at=now,
            max_attempts=settings.CHANNEL_ACTION_MAX_ATTEMPTS,
            idempotency_key=uuid.uuid4(),
            created_by_id=created_by.pk if created_by else None,
        )
        for queued in actions
    ]
    for row, pk in zip(rows, reserve_ids(ChannelAction, len(rows))):
        row.pk = pk
    copy_insert(rows, with_pk=True)
    if log:
        order_log_write_many(entries=queued_lines(actions=actions, user_id=created_by.pk if created_by else None))
    if lane == Lane.INTERACTIVE:
        ChannelAction.objects.filter(order_id__in={queued.order.pk for queued in actions}, state=State.PENDING,
                                     lane=Lane.BULK).update(lane=Lane.INTERACTIVE)
    if not new_orders:
        orders_refresh_sync_state(order_ids=[queued.order.pk for queued in actions])
    if batch:
        batch.queued += len(rows)  # the batch's drain tasks carry them out
    elif len(rows) == 1:
        transaction.on_commit(lambda pk=rows[0].pk: dispatch(pk))
    else:
        transaction.on_commit(dispatch_drains)
    return rows


def queued_lines(*, actions: Sequence[QueuedAction], user_id: int | None) -> list[LogEntry]:
    channels = dict(Channel.choices)
    return [LogEntry(queued.order.pk, f"{queued.description}: queued for {channels[queued.order.channel]}.",
                     user_id=user_id) for queued in actions]


def mark_waiting(orders: Iterable[Order]) -> None:
    """Orders this transaction creates with actions queued: Waiting, as `orders_refresh_sync_state`
    would decide (no other action of theirs exists, so none failed)."""
    for order in orders:
        order.sync_state, order.sync_error = SyncState.PENDING, ""


def dispatch(action_id: int, *, countdown: float = 0) -> None:
    """Hand an action to a worker. Losing this message loses nothing: beat sweeps due actions."""
    from .tasks import process_channel_action

    if draining():
        # Due now: this drain's loop takes it. Due later: the drain starts one drain for then as it ends.
        if countdown:
            due_again_after_drain(timezone.now() + dt.timedelta(seconds=countdown))
        return

    try:
        process_channel_action.apply_async(args=[action_id], countdown=countdown or None)
    except Exception:  # broker down: the sweeper will pick the action up
        logger.warning("could not dispatch channel action %s; the sweeper will", action_id, exc_info=True)


def dispatch_drain(*, at: dt.datetime | None = None) -> None:
    """Start a worker draining every due action (orders.batching), now or at `at`. Losing it loses
    nothing either."""
    from .tasks import drain_channel_actions

    try:
        drain_channel_actions.apply_async(eta=at)
    except Exception:  # broker down: the sweeper will pick the actions up
        logger.warning("could not start a drain of channel actions; the sweeper will", exc_info=True)


def order_refresh_sync_state(*, order: Order) -> None:
    orders_refresh_sync_state(order_ids=[order.pk])
    order.sync_state, order.sync_error = Order.objects.values_list("sync_state", "sync_error").get(pk=order.pk)


def orders_refresh_sync_state(*, order_ids: Iterable[int]) -> None:
    """The one place that decides an order's sync state: Error while an action has failed, Waiting
    while one is open, In sync otherwise. The order rows are locked first (pk order), so a worker
    recording an outcome and an operator queuing a new action cannot overwrite each other's state."""
    ids = sorted(set(order_ids))
    with transaction.atomic():
        current = dict((pk, (state, error)) for pk, state, error in Order.objects.select_for_update(of=("self",))
                       .filter(pk__in=ids).order_by("pk").values_list("pk", "sync_state", "sync_error"))
        failed: dict[int, str] = {}
        for order_id, description, error in (ChannelAction.objects.filter(order_id__in=ids, state=State.FAILED)
                                              .order_by("order_id", "-pk")
                                              .values_list("order_id", "description", "last_error")):
            failed.setdefault(order_id, f"{description}: {error}")
        waiting = set(ChannelAction.objects.filter(order_id__in=ids, state__in=ChannelAction.OPEN_STATES)
                      .values_list("order_id", flat=True).distinct())
        changes: dict[tuple[str, str], list[int]] = defaultdict(list)
        for pk, now_shown in current.items():
            if pk in failed:
                wanted = (SyncState.ERROR, failed[pk])
            elif pk in waiting:
                wanted = (SyncState.PENDING, "")
            else:
                wanted = (SyncState.OK, "")
            if wanted != now_shown:
                changes[wanted].append(pk)
        for (state, error), pks in changes.items():
            Order.objects.filter(pk__in=pks).update(sync_state=state, sync_error=error, updated_at=timezone.now())


# -- claiming and running -------------------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    action_id: int
    state: str
    detail: str = ""


def _due_actions(now: dt.datetime):
    earlier_open = ChannelAction.objects.filter(
        order=OuterRef("order"), pk__lt=OuterRef("pk"), state__in=ChannelAction.BLOCKING_STATES
    )
    # Per order, first in first out: a ship waits for its acknowledge, a refund for its shipment.
    return ChannelAction.objects.filter(state=State.PENDING, next_attempt_at__lte=now).exclude(Exists(earlier_open))


def claim(*, action_id: int | None = None) -> ChannelAction | None:
    """Take one due action for this worker (that one, or the next one due), or None."""
    claimed = claim_many(action_id=action_id, limit=1)
    return claimed[0] if claimed else None


def claim_many(*, action_id: int | None = None, limit: int) -> list[ChannelAction]:
    """Take due actions for this worker: that one, or the oldest due interactive action alone (an
    operator's click is answered first), or else up to `limit` due bulk actions of one account —
    fair between accounts: one account with due bulk work is drawn at random for each claim, so
    10,000 actions of one account never hold back another's. Each query reads a partial index of
    what is due (orders.models), whatever the size of the history. The actions claimed together
    share one claim token and lease."""
    now = timezone.now()
    with transaction.atomic():
        if action_id is not None:
            actions = _claim_first(_due_actions(now).filter(pk=action_id), limit=1)
        else:
            actions = _claim_first(_due_actions(now).filter(lane=Lane.INTERACTIVE), limit=1) or _claim_bulk(
                now, limit=limit)
        if not actions:
            return []
        claimed = dict(state=State.IN_FLIGHT, lease_expires_at=lease_end(), claim_token=new_claim_token(),
                       updated_at=now)
        ChannelAction.objects.filter(pk__in=[action.pk for action in actions]).update(
            attempts=F("attempts") + 1, **claimed)
        for action in actions:
            action.attempts += 1
            for name, value in claimed.items():
                setattr(action, name, value)
    return actions


def _claim_first(candidates, *, limit: int) -> list[ChannelAction]:
    return list(candidates.select_for_update(skip_locked=True, of=("self",))
                .select_related("order", "account", "shipment")
                .defer("order__raw_payload", "order__shipping_address")  # large JSON no action reads
                .order_by("next_attempt_at", "pk")[:limit])


def _claim_bulk(now: dt.datetime, *, limit: int) -> list[ChannelAction]:
    due_bulk = ChannelAction.objects.filter(account=OuterRef("pk"), state=State.PENDING, lane=Lane.BULK,
                                            next_attempt_at__lte=now)
    accounts = list(ChannelAccount.objects.filter(Exists(due_bulk)).values_list("pk", flat=True))
    random.shuffle(accounts)
    for account_id in accounts:
        actions = _claim_first(_due_actions(now).filter(lane=Lane.BULK, account_id=account_id), limit=limit)
        if actions:
            return actions
    return []


def claim_poll(*, action_id: int | None = None) -> ChannelAction | None:
    """Take one submitted action whose outcome is due to be read (Amazon feeds)."""
    now = timezone.now()
    candidates = ChannelAction.objects.filter(state=State.SUBMITTED, next_attempt_at__lte=now)
    if action_id is not None:
        candidates = candidates.filter(pk=action_id)
    for pk in candidates.order_by("next_attempt_at").values_list("pk", flat=True)[:5]:
        # Moving the next poll time forward is the claim: a second worker's UPDATE matches nothing.
        later = now + dt.timedelta(seconds=settings.CHANNEL_FEED_POLL_SECONDS)
        token = new_claim_token()
        if ChannelAction.objects.filter(pk=pk, state=State.SUBMITTED, next_attempt_at__lte=now).update(
                next_attempt_at=later, claim_token=token):
            return ChannelAction.objects.select_related("order", "account").get(pk=pk)
    return None


def process_action(*, action_id: int | None = None) -> Outcome | None:
    """Claim and carry out one action, or read one submission's outcome; None when nothing (or
    not that one) is due."""
    action = claim(action_id=action_id)
    if action is not None:
        return _run_many([action])[0]
    submitted = claim_poll(action_id=action_id)
    if submitted is not None:
        return _poll(submitted)
    return None


def process_due_actions(*, limit: int = 10_000) -> list[Outcome]:
    """Run every due action, then read each due submission once (a submission still processing
    is due again at its next poll, not within this round)."""
    outcomes: list[Outcome] = []
    while len(outcomes) < limit:
        actions = claim_many(limit=min(settings.CHANNEL_ACTION_BULK_BATCH, limit - len(outcomes)))
        if not actions:
            break
        outcomes += _run_many(actions)
    due_polls = ChannelAction.objects.filter(state=State.SUBMITTED, next_attempt_at__lte=timezone.now())
    for action_id in list(due_polls.order_by("next_attempt_at").values_list("pk", flat=True)[:limit]):
        submitted = claim_poll(action_id=action_id)
        if submitted is not None:
            outcomes.append(_poll(submitted))
    return outcomes


def recover_expired_leases() -> int:
    """Actions whose worker died (or stalled) mid-call go back to pending, to be verified before
    resending; the old claim's token is void, so that worker can no longer send or write."""
    now = timezone.now()
    return ChannelAction.objects.filter(state=State.IN_FLIGHT, lease_expires_at__lt=now).update(
        state=State.PENDING, needs_verification=True, next_attempt_at=now, updated_at=now, claim_token=None
    )


def sweep_due_actions() -> bool:
    """Beat's safety net: take over dead workers' claims, and start drains if anything is due
    (an action whose message was lost, a retry whose backoff ended, a submission to read)."""
    recover_expired_leases()
    now = timezone.now()
    # One question per lane, each answered by that lane's partial index of what is due: asked of both
    # lanes at once, PostgreSQL walked an index of every action ever sent to find none.
    due = (any(_due_actions(now).filter(lane=lane).exists() for lane in (Lane.INTERACTIVE, Lane.BULK))
           or ChannelAction.objects.filter(state=State.SUBMITTED, next_attempt_at__lte=now).exists())
    if due:
        dispatch_drains()
    return due


@dataclass(frozen=True)
class _HeldBack:
    """A call pacing kept back (nothing was sent), its outcome not yet recorded."""

    action: ChannelAction
    failure: PacedChannelError


@dataclass(frozen=True)
class _Landed:
    """A change the channel confirmed (or a read-back found applied), its outcome not yet recorded."""

    action: ChannelAction
    reference: str
    verified: bool = False


def _run_many(actions: Sequence[ChannelAction]) -> list[Outcome]:
    """Carry out claimed actions one after another, their leases kept meanwhile. A failure is recorded
    at once; the channel's confirmations are recorded together at the end, in one transaction. A
    worker that dies before that leaves them in flight: once their leases expire they are read back
    before anything is resent (recover_expired_leases), so nothing is sent twice."""
    outcomes: dict[int, Outcome] = {}
    landed: list[_Landed] = []
    held_back: list[_HeldBack] = []
    paced: dict[tuple[int, str], PacedChannelError] = {}  # per account and kind: the pacer said no
    with lease_kept(actions):
        for action in actions:
            group = (action.account_id, action.kind)
            if group in paced:  # it would say no again: not asked for each of the batch
                held_back.append(_HeldBack(action, paced[group]))
                continue
            try:
                with taking_only_tokens_there() if action.lane == Lane.BULK else nullcontext():
                    result = _carry_out(action)
            except StaleClaim:
                log_backed_off(action, "from the channel call")
                result = Outcome(action.pk, STALE)
            if isinstance(result, _Landed):
                landed.append(result)
            elif isinstance(result, _HeldBack):
                paced[group] = result.failure
                held_back.append(result)
            else:
                outcomes[action.pk] = result
        for outcome in _record_landed(landed) + _hold_back(held_back):
            outcomes[outcome.action_id] = outcome
    return [outcomes[action.pk] for action in actions]


def _poll(action: ChannelAction) -> Outcome:
    """Read the outcome of a submitted change (Amazon feed processing report)."""
    return _unless_stale(_read_submission, action, stage="from reading the submission")


def _unless_stale(step: Callable[[ChannelAction], Outcome], action: ChannelAction, *, stage: str) -> Outcome:
    """Run a claimed action's step; a worker whose claim was taken over backs off, having sent and
    written nothing (the takeover verifies whatever may have landed)."""
    try:
        return step(action)
    except StaleClaim:
        log_backed_off(action, stage)
        return Outcome(action.pk, STALE)


def _carry_out(action: ChannelAction) -> Outcome | _Landed | _HeldBack:
    try:
        client = client_for(action.account)
        payload = _payload_to_send(client, action)
        if isinstance(payload, ChannelOrder):  # read back, all of it landed: named as the answer names it
            found = _send(ReadBackAnswers(client, payload), action, action.payload)
            return _Landed(action, found.reference, verified=True)
        hold_claim(action)
        with checked_before_each_mutation(lambda: hold_claim(action)):  # again once paced, on the wire
            receipt = _send(client, action, payload)
    except StaleClaim:
        raise
    except PacedChannelError as failure:
        return _HeldBack(action, failure)
    except RetryableChannelError as failure:
        return _attempt_failed(action, failure)
    except ChannelError as failure:
        return _failed(action, failure.message)
    except Exception as failure:  # a bug or bad data must not leave the action in flight
        logger.exception("channel action %s crashed", action.pk)
        return _failed(action, f"internal error: {type(failure).__name__}")
    if receipt.pending:
        return _submitted(action, receipt)
    return _Landed(action, receipt.reference)


def _payload_to_send(client, action: ChannelAction) -> dict | ChannelOrder:
    """What to send now, or the order read back when it shows all of it landed already.

    A cancel or refund of a channel that applies it at once first records the channel's figures
    (verification compares with them); one that has them and may have landed is read back first.
    Until a read-back answers, `needs_verification` stays set: a failed read leaves it as it was."""
    if verification.needs_channel_before(action) and not verification.was_sent(action):
        hold_claim(action)
        action.payload = verification.with_channel_before(action, client.get_order(action.order.channel_order_id))
        hold_claim(action, payload=action.payload)  # recorded before anything is sent
        return action.payload
    resend_is_safe = rules_for(action.account.channel).async_changes and action.kind in (Kind.CANCEL, Kind.REFUND)
    if action.needs_verification and not resend_is_safe:
        hold_claim(action)
        channel_order = client.get_order(action.order.channel_order_id)
        missing = verification.not_landed(action, channel_order)
        return channel_order if missing is None else missing
    return action.payload


def _read_submission(action: ChannelAction) -> Outcome:
    # updated_at is the submission time: polls move next_attempt_at with a plain UPDATE.
    waited = timezone.now() - action.updated_at
    gave_up = waited > dt.timedelta(hours=settings.CHANNEL_FEED_TIMEOUT_HOURS)
    try:
        outcome = client_for(action.account).submission_outcome(action.channel_reference)
    except RetryableChannelError as failure:
        if gave_up:
            return _failed(action, f"no processing report after {waited}; last read failed: {failure.message}")
        # Kept on the action (Channel actions admin) rather than in the Order Log at every poll.
        fenced_update(action, last_error=f"reading the outcome: {failure.message}")
        return Outcome(action.pk, State.SUBMITTED, failure.message)  # read again at the next poll
    except ChannelError as failure:
        return _failed(action, failure.message)
    if not outcome.done:
        if gave_up:
            return _failed(action, f"the channel has not processed it after {waited}")
        dispatch(action.pk, countdown=settings.CHANNEL_FEED_POLL_SECONDS)
        return Outcome(action.pk, State.SUBMITTED, "processing")
    if outcome.errors:
        return _failed(action, "; ".join(outcome.errors)[:2000])
    [outcome] = _record_landed([_Landed(action, action.channel_reference)])
    return outcome


# -- records ↔ rows, the one translation ----------------------------------------------------------

def _lines(payload: dict) -> tuple[LineQuantity, ...]:
    return tuple(LineQuantity(line["line_number"], int(line["qty"])) for line in payload["lines"])


def _send(client, action: ChannelAction, payload: dict) -> ActionReceipt:
    order_id = action.order.channel_order_id
    if action.kind == Kind.ACKNOWLEDGE:
        return client.acknowledge(order_id)
    if action.kind == Kind.SHIP:
        return client.ship(order_id, ShipmentRequest(
            lines=_lines(payload),
            carrier=payload["carrier"],
            method=payload.get("method", ""),
            tracking_number=payload["tracking_number"],
            tracking_url=payload.get("tracking_url", ""),
            shipped_at=dt.datetime.fromisoformat(payload["shipped_at"]),
            seller_order_id=payload.get("seller_order_id", ""),
            is_update=payload.get("is_update", False),
            current_tracking_number=_tracking_on_the_channel(action) if payload.get("is_update") else "",
            package_reference=payload.get("package_reference", "1"),
            override_cancel_request=payload.get("override_cancel_request", False),
        ))
    if action.kind == Kind.CANCEL:
        return client.cancel(order_id, CancelRequest(lines=_lines(payload), reason=payload["reason"]))
    if action.kind == Kind.REFUND:
        return client.refund(order_id, RefundRequest(
            lines=tuple(RefundLine(line["line_number"], int(line["qty"]), Decimal(line["amount"]),
                                   Decimal(line.get("tax", "0")), Decimal(line.get("shipping", "0")),
                                   line.get("return_line_number"))
                        for line in payload["lines"]),
            reason=payload["reason"],
            comment=payload.get("comment", ""),
            return_order_id=payload.get("return_order_id", ""),
            customer_order_id=action.order.customer_order_id,
            idempotency_key=action.idempotency_key.hex[:24],
        ))
    raise PermanentChannelError(f"unknown action kind {action.kind!r}")


def _tracking_on_the_channel(action: ChannelAction) -> str:
    """The tracking number the channel has now for the package a tracking update changes: that of its
    last confirmed send (an order's earlier actions are settled before a later one is sent), or, with
    those archived, the one it had when the update was queued."""
    confirmed = (ChannelAction.objects.filter(shipment_id=action.shipment_id, kind=Kind.SHIP, state=State.SUCCEEDED,
                                              pk__lt=action.pk).order_by("-pk")
                 .values_list("payload__tracking_number", flat=True).first()) if action.shipment_id else None
    return confirmed or action.payload.get("current_tracking_number", "")


# -- outcomes ---------------------------------------------------------------------------------------

def _finish(action: ChannelAction, **fields) -> None:
    """Record an outcome, fenced: only the fields named, and only while this worker holds the claim
    (StaleClaim otherwise, rolling back the outcome's transaction). The order row is locked first,
    in the same order as every service that changes an order (order, then its actions)."""
    lock_order_rows([action.order_id])
    fields.update(lease_expires_at=None, claim_token=None, updated_at=timezone.now())
    fenced_update(action, **fields)
    for name, value in fields.items():
        setattr(action, name, value)


def _record_landed(landed: Sequence[_Landed]) -> list[Outcome]:
    """Record that the channel confirmed these actions, in one transaction: the orders locked first
    (pk order), then their actions (the lock order of every service that changes an order). Fenced
    per action: one whose claim was taken over is left to its new owner, which reads back what
    landed; the others are recorded."""
    if not landed:
        return []
    now = timezone.now()
    with transaction.atomic():
        lock_order_rows(item.action.order_id for item in landed)
        tokens = dict(ChannelAction.objects.select_for_update().filter(pk__in=[item.action.pk for item in landed])
                      .values_list("pk", "claim_token"))
        held = [item for item in landed
                if item.action.claim_token and tokens.get(item.action.pk) == item.action.claim_token]
        recorded = dict(state=State.SUCCEEDED, completed_at=now, last_error="", lease_expires_at=None,
                        claim_token=None, updated_at=now)
        ChannelAction.objects.filter(pk__in=[item.action.pk for item in held]).update(
            channel_reference=Case(*(When(pk=item.action.pk, then=Value(item.reference[:128])) for item in held),
                                   output_field=CharField()),
            **recorded)
        for item in held:
            item.action.channel_reference = item.reference[:128]
            for name, value in recorded.items():
                setattr(item.action, name, value)
        Shipment.objects.filter(pk__in=[item.action.shipment_id for item in held if item.action.shipment_id]).update(
            sync_state=SyncState.OK)
        order_log_write_many(entries=[
            LogEntry(item.action.order_id, f"{item.action.description}: done on "
                     f"{item.action.account.get_channel_display()}"
                     f"{' (found already applied when checked)' if item.verified else ''}.",
                     type=Type.SUCCESS, initiator=Initiator.CHANNEL)
            for item in held])
        orders_refresh_sync_state(order_ids=[item.action.order_id for item in held])
        for item in held:
            _notify(item.action)
        if held and not draining():
            # The orders' next actions waited behind these: hand them to workers now (a drain's loop
            # takes them by itself).
            successors = list(ChannelAction.objects.filter(order_id__in=[item.action.order_id for item in held],
                                                           state=State.PENDING).values_list("pk", flat=True))
            transaction.on_commit(lambda: [dispatch(pk) for pk in successors])
    held_ids = {item.action.pk for item in held}
    for item in landed:
        if item.action.pk not in held_ids:
            log_backed_off(item.action, "from recording the channel's confirmation")
    return [Outcome(item.action.pk, State.SUCCEEDED if item.action.pk in held_ids else STALE) for item in landed]


def _submitted(action: ChannelAction, receipt: ActionReceipt) -> Outcome:
    with transaction.atomic():
        _finish(action, state=State.SUBMITTED, channel_reference=receipt.reference[:128], last_error="",
                payload={**action.payload, "feed": True},
                next_attempt_at=timezone.now() + dt.timedelta(seconds=settings.CHANNEL_FEED_POLL_SECONDS))
        order_log_write(order=action.order, initiator=Initiator.CHANNEL,
                        message=f"{action.description}: submitted to {action.account.get_channel_display()} "
                        f"(feed {receipt.reference}); waiting for its processing report.")
        _notify(action)
    dispatch(action.pk, countdown=settings.CHANNEL_FEED_POLL_SECONDS)
    return Outcome(action.pk, State.SUBMITTED, receipt.reference)


def _hold_back(held_back: Sequence[_HeldBack]) -> list[Outcome]:
    """Pacing kept these calls back (nothing was sent): each is due again when the channel's limit
    allows, without spending one of its attempts and without an Order Log line — nothing failed.
    The other due bulk actions of the same account and kind wait with them: the pacer would say no to
    them too, and asking it for each of them and writing each back was all a drain did while a limit
    held. Fenced like `_record_landed`, in the same lock order; the actions not claimed are taken
    only where no other worker holds them (SKIP LOCKED), so that step never waits for a lock."""
    if not held_back:
        return []
    now = timezone.now()
    pushed_to: list[dt.datetime] = []  # when the group's other due actions, put off too, are due
    with transaction.atomic():
        lock_order_rows(item.action.order_id for item in held_back)
        tokens = dict(ChannelAction.objects.select_for_update()
                      .filter(pk__in=[item.action.pk for item in held_back]).values_list("pk", "claim_token"))
        held = [item for item in held_back
                if item.action.claim_token and tokens.get(item.action.pk) == item.action.claim_token]
        groups: dict[tuple[int, str], list[_HeldBack]] = defaultdict(list)
        for item in held:
            groups[item.action.account_id, item.action.kind].append(item)
        for (account_id, kind), items in groups.items():
            failure = items[0].failure
            due = now + dt.timedelta(seconds=failure.retry_after or 1.0)
            ChannelAction.objects.filter(pk__in=[item.action.pk for item in items]).update(
                state=State.PENDING, attempts=F("attempts") - 1, last_error=failure.message, next_attempt_at=due,
                lease_expires_at=None, claim_token=None, updated_at=now)
            for item in items:
                item.action.state, item.action.attempts, item.action.claim_token = (
                    State.PENDING, item.action.attempts - 1, None)
                item.action.next_attempt_at, item.action.lease_expires_at = due, None
            waiting_too = list(ChannelAction.objects.select_for_update(skip_locked=True).filter(
                account_id=account_id, kind=kind, lane=Lane.BULK, state=State.PENDING, next_attempt_at__lt=due,
            ).values_list("pk", flat=True))
            if ChannelAction.objects.filter(pk__in=waiting_too).update(
                    last_error=failure.message, next_attempt_at=due, updated_at=now):
                pushed_to.append(due)
    for item in held:
        dispatch(item.action.pk, countdown=(item.action.next_attempt_at - now).total_seconds())
    for due in pushed_to:
        if not due_again_after_drain(due):
            dispatch_drain(at=due)
    held_ids = {item.action.pk for item in held}
    for item in held_back:
        if item.action.pk not in held_ids:
            log_backed_off(item.action, "from recording that pacing held it back")
    return [Outcome(item.action.pk, State.PENDING, item.failure.message) if item.action.pk in held_ids
            else Outcome(item.action.pk, STALE) for item in held_back]


def _attempt_failed(action: ChannelAction, failure: RetryableChannelError) -> Outcome:
    if action.attempts >= action.max_attempts:
        return _failed(action, failure.message, ambiguous=failure.ambiguous)
    delay = backoff_seconds(attempt=action.attempts, retry_after=failure.retry_after)
    with transaction.atomic():
        _finish(
            action,
            state=State.PENDING,
            last_error=failure.message,
            next_attempt_at=timezone.now() + dt.timedelta(seconds=delay),
            needs_verification=action.needs_verification or failure.ambiguous,
        )
        order_log_write(
            order=action.order,
            message=f"{action.description}: attempt {action.attempts} of {action.max_attempts} failed "
            f"({failure.message}); trying again in {delay:.0f}s at the earliest.",
            type=Type.WARNING,
        )
    dispatch(action.pk, countdown=delay)
    return Outcome(action.pk, State.PENDING, failure.message)


def _failed(action: ChannelAction, message: str, *, ambiguous: bool = False) -> Outcome:
    with transaction.atomic():
        _finish(action, state=State.FAILED, last_error=message,
                needs_verification=action.needs_verification or ambiguous)
        if action.shipment_id:
            Shipment.objects.filter(pk=action.shipment_id).update(sync_state=SyncState.ERROR)
        order_log_write(
            order=action.order,
            message=f"{action.description}: failed after {action.attempts} attempt(s): {message}. "
            "Use Retry Failed Sync once the cause is fixed.",
            type=Type.ERROR,
        )
        order_refresh_sync_state(order=action.order)
        _notify(action)
    return Outcome(action.pk, State.FAILED, message)


def backoff_seconds(*, attempt: int, retry_after: float | None = None) -> float:
    """Exponential backoff with full jitter, never sooner than the channel asked."""
    ceiling = min(settings.CHANNEL_ACTION_BACKOFF_CAP, settings.CHANNEL_ACTION_BACKOFF_BASE * 2 ** (attempt - 1))
    delay = random.uniform(ceiling / 2, ceiling)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay


# -- operator retry ---------------------------------------------------------------------------------

def order_retry_failed_actions(*, order_id: int, user: AbstractBaseUser | None = None) -> int:
    """R-SYNC-3: put the order's failed actions back in the queue (they are verified first if an
    earlier attempt may have landed). Refused when nothing failed."""
    with transaction.atomic():
        order = lock_order(order_id)
        failed = list(ChannelAction.objects.filter(order=order, state=State.FAILED))
        if not failed:
            raise OrderActionRefused("no failed channel action")
        now = timezone.now()
        batch = current_batch()  # Retry Failed Sync on many orders: the bulk lane, carried out by drains
        for action in failed:
            action.state = State.PENDING
            action.attempts_before_retry += action.attempts  # the count starts again, the history stays
            action.attempts = 0
            action.next_attempt_at = now
            action.lane = Lane.BULK if batch else Lane.INTERACTIVE
            action.save(update_fields=["state", "attempts", "attempts_before_retry", "next_attempt_at", "lane",
                                       "updated_at"])
            if action.shipment_id:  # on its way again: no longer "Error" while the retry runs
                Shipment.objects.filter(pk=action.shipment_id).update(sync_state=SyncState.PENDING)
            order_log_write(order=order, message=f"{action.description}: retry requested.", user=user)
            _notify(action)
            if batch:
                batch.queued += 1
            else:
                transaction.on_commit(lambda pk=action.pk: dispatch(pk))
        order_refresh_sync_state(order=order)
    return len(failed)
