import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from channels.models import ChannelAccount
from orders.services.importing import ImportFailed, account_import_orders


class Command(BaseCommand):
    help = "Import orders now, synchronously, with progress (one account or every active one)."

    def add_arguments(self, parser):
        parser.add_argument("--account", type=int, help="Account id (default: every active account).")
        parser.add_argument("--since", type=dt.date.fromisoformat, help="Orders modified since this date (YYYY-MM-DD).")

    def handle(self, *args, account: int | None, since: dt.date | None, **options):
        accounts = ChannelAccount.objects.filter(is_active=True)
        if account:
            accounts = ChannelAccount.objects.filter(pk=account)
            if not accounts.exists():
                raise CommandError(f"No channel account with id {account}.")
        since_at = timezone.make_aware(dt.datetime.combine(since, dt.time.min)) if since else None
        failed = 0
        for item in accounts:
            self.stdout.write(f"{item.title}:")
            try:
                result = account_import_orders(
                    account_id=item.pk,
                    since=since_at,
                    progress=lambda r: self.stdout.write(f"  page {r.pages}: {r}"),
                )
            except ImportFailed as failure:
                failed += 1
                self.stderr.write(f"  import failed: {failure}")
            else:
                self.stdout.write(self.style.SUCCESS(f"  done: {result}"))
        if failed:
            raise CommandError(f"{failed} account(s) failed to import.")
