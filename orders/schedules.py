"""Periodic tasks, declared in one place. The outbox sweeper is static (settings.CELERY_BEAT_SCHEDULE);
every active account gets its own import task here, whose interval operators change in the admin
(Periodic tasks) — an existing interval is never overwritten."""

import json

from django.conf import settings
from django.db import transaction

from channels.capabilities import rules_for
from channels.models import ChannelAccount

IMPORT_TASK = "orders.tasks.import_account_orders"


def import_task_name(account_id: int) -> str:
    return f"Import orders: account {account_id}"


def sync_import_schedules() -> int:
    """Create missing per-account import tasks and switch them with the account's is_active."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    created = 0
    with transaction.atomic():
        existing = {task.name: task for task in PeriodicTask.objects.filter(task=IMPORT_TASK)}
        for account in ChannelAccount.objects.all():
            name = import_task_name(account.pk)
            task = existing.get(name)
            if task is None:
                # Never more often than the channel's order listing allows (pushed orders come sooner).
                every = max(settings.IMPORT_INTERVAL_SECONDS, rules_for(account.channel).min_import_interval_seconds)
                interval, _ = IntervalSchedule.objects.get_or_create(every=every, period=IntervalSchedule.SECONDS)
                PeriodicTask.objects.create(
                    name=name, task=IMPORT_TASK, interval=interval, args=json.dumps([account.pk]),
                    enabled=account.is_active,
                )
                created += 1
            elif task.enabled != account.is_active:
                task.enabled = account.is_active
                task.save(update_fields=["enabled"])
    return created
