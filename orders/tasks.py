"""Celery tasks: thin wrappers that take ids and call services (HackSoft: "treat the task as an API")."""

import logging

from celery import shared_task
from django.utils import timezone

from channels.models import ChannelAccount

from . import outbox
from .actions import bulk_job_run
from .schedules import sync_import_schedules
from .services import importing

logger = logging.getLogger("orders.tasks")


@shared_task(ignore_result=True)
def process_channel_action(action_id: int) -> str | None:
    outcome = outbox.process_action(action_id=action_id)
    return outcome.state if outcome else None


@shared_task(ignore_result=True)
def sweep_channel_actions() -> int:
    """Safety net (beat): take over actions of dead workers, dispatch whatever is due; also gives
    new accounts their import schedule."""
    sync_import_schedules()
    outbox.recover_expired_leases()
    due = outbox.due_action_ids()
    for action_id in due:
        outbox.dispatch(action_id)
    return len(due)


@shared_task(ignore_result=True)
def import_account_orders(account_id: int) -> None:
    if not ChannelAccount.objects.filter(pk=account_id, is_active=True).exists():
        return
    importing.account_import_orders(account_id=account_id)


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
