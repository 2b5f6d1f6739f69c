"""The one writer of the Order Log (SPEC §3): every change to an order goes through here."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from .copy import copy_rows
from .models import Order, OrderLog

Type = OrderLog.Type
Initiator = OrderLog.Initiator


@dataclass(frozen=True)
class LogEntry:
    order_id: int
    message: str
    type: str = Type.NOTICE
    initiator: str = Initiator.SYSTEM
    user_id: int | None = None


def order_log_write(
    *,
    order: Order,
    message: str,
    type: str = Type.NOTICE,
    initiator: str = Initiator.SYSTEM,
    user: AbstractBaseUser | None = None,
) -> OrderLog:
    if user is not None:
        initiator = Initiator.USER
    return OrderLog.objects.create(order=order, message=message, type=type, initiator=initiator, user=user)


def order_log_write_many(*, entries: Iterable[LogEntry]) -> int:
    """One write for a batch (imports, bulk actions): plain rows, no model instances."""
    now = timezone.now()
    rows = [
        (entry.order_id, now, entry.type, Initiator.USER if entry.user_id else entry.initiator, entry.user_id,
         entry.message)
        for entry in entries
    ]
    if rows:
        copy_rows(OrderLog, ("order", "created_at", "type", "initiator", "user", "message"), rows)
    return len(rows)
