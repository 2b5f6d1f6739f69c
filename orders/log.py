"""The one writer of the Order Log (SPEC §3): every change to an order goes through here."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser

from .copy import copy_insert
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
    """One INSERT for a batch (imports, bulk actions)."""
    rows = [
        OrderLog(
            order_id=entry.order_id,
            message=entry.message,
            type=entry.type,
            initiator=Initiator.USER if entry.user_id else entry.initiator,
            user_id=entry.user_id,
        )
        for entry in entries
    ]
    copy_insert(rows)
    return len(rows)
