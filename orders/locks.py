"""Row locks, and the one lock order of the whole code base.

A transaction that holds more than one lock takes them in this order, so no two transactions
ever wait on each other in a circle (PostgreSQL row locks; SQLite serialises writers with
IMMEDIATE transactions, so it cannot deadlock):

1. The channel account, FOR NO KEY UPDATE — only an import takes it, so one import per account
   runs at a time. NO KEY: rows others insert that point at the account (channel actions, import
   problems) take KEY SHARE on it for their foreign key, and that never waits on NO KEY UPDATE.
2. Orders, in ascending pk order (`lock_orders`, `lock_order`, `lock_order_rows`). A transaction that works on
   many orders locks them all first.
3. Each order's own rows: its items (pk order), shipments, returns, credit memos, channel actions;
   then a bulk job's row (`actions.bulk_job_settle`).
4. Number counters (orders.numbers): the store order counter, then the invoice counter.
5. Products, in ascending pk order, last: stock movements are collected while the orders are
   worked on and written together at the end (orders.services.stock).

Channel actions are claimed with SKIP LOCKED (orders.outbox), which never waits, so a claim can
come before the order lock that recording its outcome takes.
"""

from collections.abc import Iterable

from django.db import transaction

from .models import Order


def _require_transaction(what: str) -> None:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(f"{what} must run inside transaction.atomic()")


def lock_order(order_id: int) -> Order:
    """The order, locked until the surrounding transaction ends."""
    _require_transaction("lock_order()")
    return Order.objects.select_for_update(of=("self",)).select_related("account").get(pk=order_id)


def lock_order_rows(order_ids: Iterable[int]) -> None:
    """The orders locked (pk order) until the surrounding transaction ends, nothing of them read (their
    payload JSON is the largest column of all: a worker recording outcomes needs only the locks)."""
    _require_transaction("lock_order_rows()")
    list(Order.objects.select_for_update(of=("self",)).filter(pk__in=sorted(set(order_ids))).order_by("pk")
         .values_list("pk", flat=True))


def lock_orders(order_ids: Iterable[int]) -> list[Order]:
    """These orders (those that exist), locked in pk order until the surrounding transaction ends."""
    _require_transaction("lock_orders()")
    return list(Order.objects.select_for_update(of=("self",)).select_related("account")
                .filter(pk__in=sorted(set(order_ids))).order_by("pk"))


def lock_account_for_import(account_id: int) -> None:
    """Step 1 of the lock order: one import of this account at a time."""
    from channels.models import ChannelAccount

    _require_transaction("lock_account_for_import()")
    list(ChannelAccount.objects.select_for_update(no_key=True).filter(pk=account_id).values_list("pk", flat=True))
