"""Drift between us and the channel (issue 15 §4): read the channel's view of recent orders through
the channel client, compare it with ours, and keep every difference in "Needs attention" until both
sides agree again. Resync re-imports the order through the import service; resend queues the
channel action again through the order services. Nothing here changes an order by itself.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.utils import timezone

from channels.clients import ChannelError, ChannelOrder, UnreadableOrder
from channels.models import Channel, ChannelAccount
from channels.registry import client_for
from orders import outbox
from orders.models import ChannelAction, Order, OrderStatus, Shipment
from orders.services.errors import OrderActionRefused
from orders.services.import_runs import describe_failure
from orders.services.importing import IMPORT_PAGE_SIZE, ImportResult, upsert_page
from orders.services.shipments import order_resend_shipping
from orders.status import derive_status

from .models import Discrepancy, ReconciliationRun

logger = logging.getLogger("cockpit.reconciliation")
CENT = Decimal("0.01")
# What each channel's order listing tells about an order beyond its quantities: Walmart's lines carry
# their tracking and refund charges; Amazon's Orders API shows neither (tracking and refunds go by feed).
REPORTS_TRACKING_AND_REFUNDS = {Channel.WALMART: True, Channel.AMAZON: False}


def account_reconcile(*, account_id: int, user: AbstractBaseUser | None = None,
                      now: dt.datetime | None = None) -> ReconciliationRun:
    """Compare the orders created on the channel in the last RECONCILE_DAYS with ours, page by page
    (one query per page for our side). Orders with a change still on its way to the channel, or that
    the channel changed in the last RECONCILE_GRACE_MINUTES, are left alone: that is sync, not drift."""
    now = now or timezone.now()
    account = ChannelAccount.objects.get(pk=account_id)
    run = ReconciliationRun.objects.create(account=account, started_at=now, requested_by=user,
                                           created_from=now - dt.timedelta(days=settings.RECONCILE_DAYS))
    grace = now - dt.timedelta(minutes=settings.RECONCILE_GRACE_MINUTES)
    try:
        for page in client_for(account).iter_order_pages(created_since=run.created_from, page_size=IMPORT_PAGE_SIZE):
            readable = [entry for entry in page if not isinstance(entry, UnreadableOrder)]
            records = [entry for entry in readable if entry.updated_at <= grace]
            run.orders_left_to_sync += len(readable) - len(records)
            ours = _our_orders(account, [record.channel_order_id for record in records])
            for record in records:
                order = ours.get(record.channel_order_id)
                if order is None or order.open_actions:
                    run.orders_left_to_sync += 1  # not imported yet (the import's business) or a change on its way
                    continue
                run.orders_checked += 1
                if record_differences(run=run, order=order, differences=order_differences(order=order, channel_order=record)):
                    run.differences += 1
    except Exception as failure:  # a run always ends, saying why it stopped (no secret: describe_failure)
        run.error = f"The channel could not be read: {describe_failure(failure)}"
        logger.warning("reconciliation of %s stopped: %s", account.title, run.error, exc_info=True)
    run.finished_at = timezone.now()
    run.save()
    return run


def _our_orders(account: ChannelAccount, channel_order_ids: list[str]) -> dict[str, Order]:
    orders = Order.objects.filter(account=account, channel_order_id__in=channel_order_ids).prefetch_related(
        "items",
        Prefetch("shipments", queryset=Shipment.objects.filter(Shipment.STANDING).order_by("pk")),
        Prefetch("channel_actions", queryset=ChannelAction.objects.filter(state__in=ChannelAction.OPEN_STATES),
                 to_attr="open_actions"),
    )
    return {order.channel_order_id: order for order in orders}


def order_differences(*, order: Order, channel_order: ChannelOrder) -> list[dict]:
    """What differs between our order and the channel's record of it: status, per line the shipped and
    canceled quantities and the refunded money, and the tracking numbers."""
    differences = []
    theirs = derive_status(channel=order.channel, lines=channel_order.lines, is_acknowledged=channel_order.is_acknowledged,
                           is_paid=channel_order.is_paid, channel_status=channel_order.status)
    if theirs != order.status:
        differences.append(_difference("status", OrderStatus(order.status).label, theirs.label))
    reports_more = REPORTS_TRACKING_AND_REFUNDS.get(order.channel, False)
    items = {item.channel_line_id: item for item in order.items.all()}
    lines = {line.line_id: line for line in channel_order.lines}
    for line_id in sorted(items.keys() | lines.keys()):
        item, line = items.get(line_id), lines.get(line_id)
        if item is None or line is None:
            differences.append(_difference("line", "present" if item else "missing", "present" if line else "missing",
                                           line=line_id))
            continue
        for name, ours, channel in (("shipped", item.qty_shipped, line.qty_shipped),
                                    ("canceled", item.qty_canceled, line.qty_canceled)):
            if ours != channel:
                differences.append(_difference(name, ours, channel, line=f"{line_id} ({item.sku})"))
        if reports_more and item.refunded_amount.quantize(CENT) != line.refunded_amount.quantize(CENT):
            differences.append(_difference("refunded", str(item.refunded_amount.quantize(CENT)),
                                           str(line.refunded_amount.quantize(CENT)), line=f"{line_id} ({item.sku})"))
    if reports_more:
        ours = {s.tracking_number for s in order.shipments.all() if s.tracking_number}
        channel = {t.tracking_number for line in channel_order.lines for t in line.tracking if t.tracking_number}
        if ours != channel:
            differences.append(_difference("tracking", ", ".join(sorted(ours)) or "none",
                                           ", ".join(sorted(channel)) or "none"))
    return differences


def _difference(field: str, ours, channel, *, line: str = "") -> dict:
    return {"field": field, "line": line, "ours": ours, "channel": channel}


def summarize(differences: list[dict]) -> str:
    parts = []
    for difference in differences:
        where = f" of line {difference['line']}" if difference["line"] else ""
        parts.append(f"{difference['field']}{where}: ours {difference['ours']}, channel {difference['channel']}")
    return "; ".join(parts)


def record_differences(*, run: ReconciliationRun, order: Order, differences: list[dict]) -> bool:
    """Open (or update) the order's discrepancy, or resolve it when both sides agree again."""
    with transaction.atomic():
        open_one = Discrepancy.objects.select_for_update().filter(order=order, resolved_at__isnull=True).first()
        if not differences:
            if open_one:
                open_one.resolved_at = timezone.now()
                open_one.resolution = "The channel and the back-office agree again."
                open_one.last_run = run
                open_one.save(update_fields=["resolved_at", "resolution", "last_run"])
            return False
        if open_one is None:
            Discrepancy.objects.create(account=run.account, order=order, differences=differences,
                                       summary=summarize(differences), first_seen_at=run.started_at,
                                       last_seen_at=run.started_at, last_run=run)
        else:
            open_one.differences, open_one.summary = differences, summarize(differences)
            open_one.last_seen_at, open_one.last_run = run.started_at, run
            open_one.save(update_fields=["differences", "summary", "last_seen_at", "last_run"])
    return True


# -- the one-click fixes --------------------------------------------------------------------------------

def discrepancy_resync(*, discrepancy_id: int, user: AbstractBaseUser | None = None) -> Discrepancy:
    """Import the order again from the channel (the import service decides what it may change), then
    compare again: resolved when both sides agree."""
    discrepancy = Discrepancy.objects.select_related("order__account").get(pk=discrepancy_id)
    order = discrepancy.order
    try:
        record = client_for(order.account).get_order(order.channel_order_id)
    except ChannelError as failure:
        raise OrderActionRefused("the channel could not be read", failure.message) from None
    upsert_page(account=order.account, page=[record], result=ImportResult())
    refreshed = _our_orders(order.account, [order.channel_order_id])[order.channel_order_id]
    differences = [] if refreshed.open_actions else order_differences(order=refreshed, channel_order=record)
    now = timezone.now()
    with transaction.atomic():
        discrepancy = Discrepancy.objects.select_for_update().get(pk=discrepancy_id)
        discrepancy.last_step = f"Resynced {timezone.localtime(now):%Y-%m-%d %H:%M} by {_name(user)}"
        if not differences:
            discrepancy.resolved_at = discrepancy.resolved_at or now
            discrepancy.resolution = discrepancy.resolution or "Resynced: the order now matches the channel."
        else:
            discrepancy.differences, discrepancy.summary = differences, summarize(differences)
            discrepancy.last_step += f"; still different: {_why_still_different(refreshed, record)}"
        discrepancy.save(update_fields=["last_step", "resolved_at", "resolution", "differences", "summary"])
    return discrepancy


def _why_still_different(order: Order, channel_order: ChannelOrder) -> str:
    if order.channel_updated_at and channel_order.updated_at < order.channel_updated_at:
        return (f"the channel dates its version {timezone.localtime(channel_order.updated_at):%Y-%m-%d %H:%M}, "
                f"before the one applied here ({timezone.localtime(order.channel_updated_at):%Y-%m-%d %H:%M}), "
                "so the import keeps ours; correct the order on the channel or here")
    return "the import does not take these from the channel; correct the order on the channel or here"


def discrepancy_resend(*, discrepancy_id: int, user: AbstractBaseUser | None = None) -> Discrepancy:
    """Send our side to the channel again: the order's failed channel actions are retried
    (orders.outbox), or else its latest shipment's tracking is resent (orders.services.shipments).
    It stays open until a later reconciliation finds the channel agreeing: queued is not done."""
    discrepancy = Discrepancy.objects.select_related("order").get(pk=discrepancy_id)
    if discrepancy.resolved_at:
        raise OrderActionRefused("already resolved")
    order_id = discrepancy.order_id
    if failed_actions_of(order_id).exists():
        retried = outbox.order_retry_failed_actions(order_id=order_id, user=user)
        step = f"{retried} failed channel action(s) queued again"
    elif shipments_of_ours(order_id).exists():
        order_resend_shipping(order_id=order_id, user=user)
        step = "Shipping information queued again"
    else:
        raise OrderActionRefused("nothing of ours to resend", "no failed channel action and no shipment made here: "
                                 "use Resync to take the channel's version")
    Discrepancy.objects.filter(pk=discrepancy.pk).update(
        last_step=f"{step} {timezone.localtime():%Y-%m-%d %H:%M} by {_name(user)}")
    discrepancy.refresh_from_db()
    return discrepancy


def failed_actions_of(order_id) -> QuerySet[ChannelAction]:
    """What Resend sends first (`order_id`: an id or an OuterRef)."""
    return ChannelAction.objects.filter(order_id=order_id, state=ChannelAction.State.FAILED)


def shipments_of_ours(order_id) -> QuerySet[Shipment]:
    """What Resend sends otherwise: the shipping information of shipments made here."""
    return Shipment.objects.filter(Shipment.STANDING, order_id=order_id, source=Shipment.Source.OPERATOR)


def has_something_to_resend() -> Exists:
    """For a list of discrepancies: whether Resend has anything of ours to send."""
    return Exists(failed_actions_of(OuterRef("order_id"))) | Exists(shipments_of_ours(OuterRef("order_id")))


def _name(user: AbstractBaseUser | None) -> str:
    return user.get_username() if user is not None and user.pk else "the system"


def reconcile_all(*, user: AbstractBaseUser | None = None) -> list[ReconciliationRun]:
    return [account_reconcile(account_id=pk, user=user)
            for pk in ChannelAccount.objects.filter(is_active=True).values_list("pk", flat=True)]
