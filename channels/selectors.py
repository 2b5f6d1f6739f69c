from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from .models import ChannelAccount


@dataclass(frozen=True)
class SyncHealth:
    """R-SYNC-5: is the account's import healthy? `is_ok` only after a run that completed, with no
    order kept aside (issue 8 §1/§2); `is_failing` is the critical state (failing for hours)."""

    is_failing: bool
    summary: str
    is_ok: bool = False


def account_sync_health(*, account: ChannelAccount, open_import_problems: int = 0,
                        failed_actions: int = 0, retrying_actions: int = 0) -> SyncHealth:
    """Both ways: the import's health, and changes of ours the channel refused (an account whose
    shipment failed to reach the channel is not in sync, however well it imports). A change still being
    retried after a refused attempt is not in sync either: the channel does not have it yet, and an
    import failing but retried ("next try 10:05") already reads the same way."""
    health = _import_health(account, open_import_problems)
    refused = [f"{failed_actions} failed channel action{'' if failed_actions == 1 else 's'}"] if failed_actions else []
    if retrying_actions:
        refused.append(f"{retrying_actions} channel action{'' if retrying_actions == 1 else 's'} retrying")
    if refused:
        summary = "; ".join(["Imports OK" if health.is_ok else health.summary, *refused])
        health = SyncHealth(health.is_failing, summary)
    if account.credentials_readable:
        return health
    return SyncHealth(True, "CRITICAL: credentials cannot be decrypted with the configured keys, nothing can be "
                            f"imported or sent: enter them again; {health.summary}")


def _import_health(account: ChannelAccount, open_import_problems: int) -> SyncHealth:
    now = timezone.now()
    threshold = timedelta(hours=settings.SYNC_HEALTH_FAILING_AFTER_HOURS)
    kept_aside = f"{open_import_problems} order{'' if open_import_problems == 1 else 's'} kept aside"
    problems = f"; {kept_aside} as import problems" if open_import_problems else ""
    if account.import_failing_since and now - account.import_failing_since > threshold:
        return SyncHealth(True, f"CRITICAL: import failing since {account.import_failing_since:%Y-%m-%d %H:%M}: "
                                f"{account.last_import_error[:120]}{problems}")
    if account.last_import_error and account.import_failing_since:
        retry = ""
        if account.import_retry_at:  # a time gone by reads as a promise broken: say it is due instead
            retry = f" (next try {account.import_retry_at:%H:%M})" if account.import_retry_at > now else " (retry due now)"
        return SyncHealth(False, f"Last import failed: {account.last_import_error[:120]}{retry}{problems}")
    started, succeeded = account.last_import_started_at, account.last_import_succeeded_at
    if started and (succeeded is None or started > succeeded) and \
            now - started > timedelta(minutes=settings.IMPORT_RUN_STALE_MINUTES):
        return SyncHealth(False, f"Last import did not complete (started {started:%Y-%m-%d %H:%M}){problems}")
    if succeeded is None:
        return SyncHealth(False, f"Never imported{problems}")
    if open_import_problems:
        return SyncHealth(False, f"Import problems: {kept_aside}")
    return SyncHealth(False, "OK", is_ok=True)
