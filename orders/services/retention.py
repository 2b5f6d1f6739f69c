"""Data retention (issue 13): Order Log lines and succeeded channel actions older than
HISTORY_RETENTION_DAYS (default two years) move to archive tables, in batches, so the working tables
— and every list and claim that reads them — stay the size of the recent past. Nothing is deleted:
the order page shows an order's archived history with the rest (orders.selectors.order_history).

Kept in the outbox whatever their age: actions not yet succeeded (a failed one is an order's Error
until retried), and actions a credit memo points at (the memo's state follows them)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..models import ChannelAction, ChannelActionArchive, OrderLog, OrderLogArchive

LOG_FIELDS = ("order_id", "created_at", "type", "initiator", "user_id", "message")
ACTION_FIELDS = ("order_id", "account_id", "kind", "description", "payload", "attempts", "idempotency_key",
                 "channel_reference", "created_by_id", "created_at", "completed_at")


@dataclass
class Archived:
    log_lines: int = 0
    channel_actions: int = 0

    def __str__(self) -> str:
        return f"{self.log_lines} Order Log lines and {self.channel_actions} channel actions archived"


def history_archive(*, older_than: dt.timedelta | None = None, batch_size: int = 5000) -> Archived:
    """Move everything past the retention period, one batch per transaction (short locks, and an
    interrupted run leaves nothing half-moved: the next run goes on)."""
    cutoff = timezone.now() - (older_than or dt.timedelta(days=settings.HISTORY_RETENTION_DAYS))
    archived = Archived()
    old_lines = OrderLog.objects.filter(created_at__lt=cutoff)
    old_actions = ChannelAction.objects.filter(state=ChannelAction.State.SUCCEEDED, created_at__lt=cutoff,
                                               credit_memos__isnull=True)
    while moved := _move(old_lines, OrderLogArchive, LOG_FIELDS, batch_size):
        archived.log_lines += moved
    while moved := _move(old_actions, ChannelActionArchive, ACTION_FIELDS, batch_size):
        archived.channel_actions += moved
    return archived


def _move(rows, archive, fields: tuple[str, ...], batch_size: int) -> int:
    with transaction.atomic():
        batch = list(rows.order_by("pk").select_for_update(skip_locked=True, of=("self",)).values("pk", *fields)[:batch_size])
        if not batch:
            return 0
        archive.objects.bulk_create([archive(**{name: row[name] for name in fields}) for row in batch])
        rows.model.objects.filter(pk__in=[row["pk"] for row in batch]).delete()
    return len(batch)
