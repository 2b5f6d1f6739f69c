"""Import problems (issue 8 §1): channel orders kept aside because they could not be read or stored.

One row per account and order (or per payload, when the order carries no id): seen again, it counts;
imported later in a readable version, it is resolved by itself. Nothing here is ever deleted."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from channels.models import ChannelAccount

from ..models import ImportProblem

logger = logging.getLogger("orders.importing")


def import_problem_record(*, account: ChannelAccount, channel_order_id: str, raw: Any, reason: str) -> ImportProblem:
    """Keep the order aside (or count it again, reopening it if it had been resolved)."""
    order_id = _storable(channel_order_id)[:255]
    payload = json.dumps(raw, ensure_ascii=True, default=str, indent=1)  # NUL and lone surrogates become escapes
    fingerprint = hashlib.sha256((f"id:{order_id}" if order_id else f"raw:{payload}").encode()).hexdigest()
    reason = _storable(reason)
    logger.warning("import problem on %s, order %s: %s", account.title, order_id or "(no id)", reason)
    now = timezone.now()
    changes = {"raw_payload": payload, "error": reason, "last_seen_at": now, "resolved_at": None, "resolution": ""}
    for _attempt in range(2):  # a concurrent import may create the same problem between our update and insert
        if ImportProblem.objects.filter(account=account, fingerprint=fingerprint).update(
                times_seen=F("times_seen") + 1, **changes):
            return ImportProblem.objects.get(account=account, fingerprint=fingerprint)
        try:
            with transaction.atomic():
                return ImportProblem.objects.create(account=account, fingerprint=fingerprint, channel_order_id=order_id,
                                                    first_seen_at=now, **changes)
        except IntegrityError:
            continue
    raise RuntimeError("import problem could not be recorded")  # pragma: no cover - two lost races in a row


def import_problems_resolve(*, account: ChannelAccount, channel_order_ids: Iterable[str]) -> int:
    """The channel sent readable versions of these orders and they were stored: their problems are over."""
    return ImportProblem.objects.filter(
        account=account, channel_order_id__in=list(channel_order_ids), resolved_at__isnull=True,
    ).update(resolved_at=timezone.now(), resolution="A readable version of the order was imported.")


def import_problems_dismiss(*, problem_ids: Iterable[int], user_name: str) -> int:
    """An operator closes problems the channel will never send again (an order without an id)."""
    return ImportProblem.objects.filter(pk__in=list(problem_ids), resolved_at__isnull=True).update(
        resolved_at=timezone.now(), resolution=f"Dismissed by {user_name}."[:255])


def _storable(text: str) -> str:
    """PostgreSQL text holds neither NUL nor lone surrogates: show them as escapes instead."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")
