import time

from django.core.management.base import BaseCommand
from django.utils import timezone

from orders import outbox
from orders.models import ChannelAction


class Command(BaseCommand):
    help = "Carry out every due channel action now, synchronously; with --wait, also the retries."

    def add_arguments(self, parser):
        parser.add_argument("--wait", type=float, default=0, help="Seconds to keep going while retries are scheduled.")

    def handle(self, *args, wait: float, **options):
        deadline = time.monotonic() + wait
        total = 0
        while True:
            outbox.recover_expired_leases()
            for outcome in outbox.process_due_actions():
                total += 1
                self.stdout.write(f"action {outcome.action_id}: {outcome.state} {outcome.detail}".rstrip())
            upcoming = (
                ChannelAction.objects.filter(state=ChannelAction.State.PENDING)
                .order_by("next_attempt_at")
                .values_list("next_attempt_at", flat=True)
                .first()
            )
            if upcoming is None or time.monotonic() >= deadline:
                break
            time.sleep(min(max((upcoming - timezone.now()).total_seconds(), 0.05), max(deadline - time.monotonic(), 0)))
        self.stdout.write(f"{total} action(s) processed.")
