from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from .models import ChannelAccount


@dataclass(frozen=True)
class SyncHealth:
    """R-SYNC-5: is the account's import healthy?"""

    is_failing: bool
    summary: str


def account_sync_health(*, account: ChannelAccount) -> SyncHealth:
    threshold = timedelta(hours=settings.SYNC_HEALTH_FAILING_AFTER_HOURS)
    if account.import_failing_since and timezone.now() - account.import_failing_since > threshold:
        return SyncHealth(True, f"CRITICAL: import failing since {account.import_failing_since:%Y-%m-%d %H:%M}")
    if account.last_import_error and account.import_failing_since:
        return SyncHealth(False, f"Last import failed: {account.last_import_error[:120]}")
    if account.last_import_succeeded_at is None:
        return SyncHealth(False, "Never imported")
    return SyncHealth(False, "OK")
