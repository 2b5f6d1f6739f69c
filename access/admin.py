"""Third-party admin pages on our site, made to behave like ours. django-celery-beat's "Run selected
tasks" publishes straight to the broker (apply_async): with Redis down the page fails and nothing is
kept. Here it hands the work off like every other page (orders.handoff): saved first, sent after
commit, swept once the broker is back."""

import json

from django.contrib import admin, messages
from django.db import transaction
from django.http import HttpRequest
from django_celery_beat.admin import PeriodicTaskAdmin
from django_celery_beat.models import PeriodicTask

from orders.handoff import hand_off


class HandedOffPeriodicTaskAdmin(PeriodicTaskAdmin):
    @admin.action(description="Run selected tasks", permissions=["change"])
    def run_tasks(self, request: HttpRequest, queryset) -> None:
        self.celery_app.loader.import_default_modules()
        tasks = list(queryset.order_by("name"))
        unknown = [task.name for task in tasks if task.task not in self.celery_app.tasks]
        if unknown:
            self.message_user(request, f"Nothing run: no such task for {', '.join(unknown)}.", messages.ERROR)
            return
        # A hand-off keeps the task and its positional arguments: a task that needs more (keyword
        # arguments, its own queue or routing) is left to its schedule rather than run differently.
        kept_aside = [task.name for task in tasks if json.loads(task.kwargs or "{}") or task.queue or task.exchange
                      or task.routing_key]
        runnable = [task for task in tasks if task.name not in kept_aside]
        with transaction.atomic():
            for task in runnable:
                hand_off(task.task, *json.loads(task.args or "[]"))
        text = f"{len(runnable)} task(s) queued to run now."
        if kept_aside:
            text += (f" Not run now (keyword arguments or their own queue, which only their schedule sends): "
                     f"{', '.join(kept_aside)}.")
        self.message_user(request, text, messages.WARNING if kept_aside else messages.SUCCESS)


admin.site.unregister(PeriodicTask)
admin.site.register(PeriodicTask, HandedOffPeriodicTaskAdmin)
