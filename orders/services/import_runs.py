"""Every import run leaves its outcome on the account (issue 8 §2, R-SYNC-5).

A run is recorded as started; it ends either completed (the failure state is cleared) or with the
exception that ended it, whatever it was — a channel error, a database error or deadlock, a lost
connection, credentials that no longer decrypt. While an account fails, beat retries its import
after 1, 2, 4… intervals (capped): `import_is_due` says whether this beat tick should run."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import F
from django.utils import timezone

from channels.clients import ChannelError
from channels.crypto import CredentialsUnreadable
from channels.pacing import PacedChannelError
from channels.models import ChannelAccount

logger = logging.getLogger("orders.importing")


class ImportFailed(Exception):
    pass


class ImportHeldBack(ImportFailed):
    """The run stopped early to stay within the channel's rate limit; it is not a failure."""


@contextmanager
def import_run(*, account: ChannelAccount, records_success: bool = True, what: str = "") -> Iterator[None]:
    """Wrap one import run. Any exception is recorded on the account and re-raised as ImportFailed."""
    ChannelAccount.objects.filter(pk=account.pk).update(last_import_started_at=timezone.now())
    try:
        yield
    except PacedChannelError as held_back:
        # The channel's rate limit ends this run early; nothing failed. What was stored stays, the
        # cursor stays where it was, and the next run goes on (without a failure's backoff).
        logger.info("%s: import held back by the channel's rate limit: %s", account.title, held_back.message)
        raise ImportHeldBack(f"{account.title}{f' ({what})' if what else ''}: {held_back.message}") from held_back
    except Exception as failure:
        message = describe_failure(failure)
        import_failure_record(account_id=account.pk, message=message)
        raise ImportFailed(f"{account.title}{f' ({what})' if what else ''}: {message}") from failure
    if records_success:
        ChannelAccount.objects.filter(pk=account.pk).update(
            last_import_succeeded_at=timezone.now(), last_import_error="", import_failing_since=None,
            import_failures=0, import_retry_at=None,
        )


def describe_failure(failure: Exception) -> str:
    """The failure in one plain line. Channel errors and credential errors never carry secrets; a
    database error's first line names the trouble (deadlock, terminated connection) without data."""
    if isinstance(failure, ChannelError):
        return failure.message
    first_line = (str(failure).strip().splitlines() or [""])[0][:500]
    if isinstance(failure, CredentialsUnreadable):
        return f"{first_line}: enter the account's credentials again"
    if isinstance(failure, DatabaseError):
        return f"database error ({type(failure).__name__}): {first_line}"
    return f"{type(failure).__name__}: {first_line}" if first_line else type(failure).__name__


def import_failure_record(*, account_id: int, message: str) -> None:
    try:
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()  # a terminated connection: record on a fresh one
        now = timezone.now()
        accounts = ChannelAccount.objects.filter(pk=account_id)
        accounts.update(last_import_error=message, last_import_error_at=now, import_failures=F("import_failures") + 1)
        accounts.filter(import_failing_since__isnull=True).update(import_failing_since=now)
        failures = accounts.values_list("import_failures", flat=True).get()
        accounts.update(import_retry_at=now + import_backoff(failures=failures))
    except Exception:  # the run's own failure is what the caller must see
        logger.exception("could not record the import failure of account %s: %s", account_id, message)


def import_backoff(*, failures: int) -> dt.timedelta:
    seconds = settings.IMPORT_INTERVAL_SECONDS * 2 ** min(max(failures - 1, 0), 16)
    return dt.timedelta(seconds=min(seconds, settings.IMPORT_RETRY_BACKOFF_CAP_SECONDS))


def import_is_due(*, account_id: int) -> bool:
    """Beat's tick runs an active account's import unless a failing account is still backing off."""
    rows = list(ChannelAccount.objects.filter(pk=account_id, is_active=True).values_list("import_retry_at", flat=True))
    return bool(rows) and (rows[0] is None or rows[0] <= timezone.now())
