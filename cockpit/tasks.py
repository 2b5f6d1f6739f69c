"""Celery tasks: thin wrappers that take ids and call the cockpit's services."""

from celery import shared_task
from django.contrib.auth import get_user_model

from . import reconciliation, stats


@shared_task(ignore_result=True)
def reconcile_all_accounts() -> int:
    """Beat, nightly: every active account's recent orders compared with the channel's."""
    return sum(run.differences for run in reconciliation.reconcile_all())


@shared_task(ignore_result=True)
def reconcile_account(account_id: int, user_id: int | None = None) -> None:
    """An operator's "Reconcile now"."""
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    reconciliation.account_reconcile(account_id=account_id, user=user)


@shared_task(ignore_result=True)
def refresh_stats() -> int:
    """Beat, every few minutes: the daily figures of the whole history the cockpit shows."""
    return stats.stats_refresh(days=stats.HISTORY_DAYS)
