"""Move Order Log lines and succeeded channel actions past the retention period to the archive."""

import datetime as dt

from django.conf import settings
from django.core.management.base import BaseCommand

from orders.services.retention import history_archive


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--older-than-days", type=int, default=None,
                            help=f"default: HISTORY_RETENTION_DAYS ({settings.HISTORY_RETENTION_DAYS})")
        parser.add_argument("--batch-size", type=int, default=5000)

    def handle(self, *args, older_than_days: int | None, batch_size: int, **options):
        days = older_than_days if older_than_days is not None else settings.HISTORY_RETENTION_DAYS
        self.stdout.write(str(history_archive(older_than=dt.timedelta(days=days), batch_size=batch_size)) + ".")
