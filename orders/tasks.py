"""Celery tasks: thin wrappers that take ids and call services (HackSoft: "treat the task as an API")."""

import logging

from celery import shared_task
from django.utils import timezone

from channels.models import ChannelAccount

from . import handoff, outbox
from .actions import bulk_job_run, bulk_job_settle, bulk_jobs_settle_waiting
from .batching import draining_channel_actions
from .schedules import sync_import_schedules
from .services import csv_exports, importing, retention
from .services.import_runs import ImportHeldBack, import_is_due

logger = logging.getLogger("orders.tasks")


@shared_task(ignore_result=True)
def process_channel_action(action_id: int) -> str | None:
    outcome = outbox.process_action(action_id=action_id)
    return outcome.state if outcome else None


@shared_task(ignore_result=True)
def drain_channel_actions() -> int:
    """Carry out every due channel action, one after another, until none is due (orders.batching)."""
    with draining_channel_actions() as drain:
        outcomes = outbox.process_due_actions()
    for job_id in sorted(drain.bulk_jobs):
        bulk_job_settle(job_id=job_id)
    if drain.next_due is not None:
        outbox.dispatch_drain(at=drain.next_due)
    return len(outcomes)


@shared_task(ignore_result=True)
def sweep_channel_actions() -> bool:
    """Safety net (beat): take over actions of dead workers, drain whatever is due, settle bulk jobs
    a dead drain left Waiting; also gives new accounts their import schedule."""
    sync_import_schedules()
    bulk_jobs_settle_waiting()
    return outbox.sweep_due_actions()


@shared_task(ignore_result=True)
def import_account_orders(account_id: int, now: bool = False) -> None:
    """Beat's tick (skipped while a failing account backs off) or an operator's "Import now"."""
    if not (import_is_due(account_id=account_id) or now and ChannelAccount.objects.filter(
            pk=account_id, is_active=True).exists()):
        return
    try:
        importing.account_import_orders(account_id=account_id)
    except ImportHeldBack:
        pass  # the channel's rate limit: the next tick goes on (logged by the run)


@shared_task(ignore_result=True)
def reimport_account_orders(account_id: int, created_from: str, created_to: str) -> None:
    importing.account_reimport_orders(
        account_id=account_id,
        created_from=timezone.datetime.fromisoformat(created_from),
        created_to=timezone.datetime.fromisoformat(created_to),
    )


@shared_task(ignore_result=True, acks_late=True)
def run_bulk_job(job_id: int) -> None:
    bulk_job_run(job_id=job_id)


@shared_task(ignore_result=True)
def archive_history() -> str:
    """Daily (beat): move what is past the retention period to the archive."""
    return str(retention.history_archive())


@shared_task(ignore_result=True, acks_late=True)
def write_csv_export(export_id: int) -> None:
    csv_exports.csv_export_write(export_id=export_id)


@shared_task(ignore_result=True)
def expire_csv_exports() -> int:
    return csv_exports.csv_exports_expire()


@shared_task(ignore_result=True)
def sweep_handoffs() -> int:
    """Safety net (beat): send imports, reimports and bulk jobs the broker did not take when asked."""
    return handoff.sweep_handoffs()
