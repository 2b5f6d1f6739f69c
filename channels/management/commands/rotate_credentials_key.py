from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from channels.crypto import CredentialsUnreadable, reencrypt_credentials
from channels.models import ChannelAccount


class Command(BaseCommand):
    help = (
        "Re-encrypt every account's credentials under FIELD_ENCRYPTION_KEY. Set the new key as "
        "FIELD_ENCRYPTION_KEY and the previous ones in FIELD_ENCRYPTION_OLD_KEYS, run this, then drop the old keys."
    )

    def handle(self, *args, **options):
        rotated, unreadable = 0, []
        with transaction.atomic():
            for account in ChannelAccount.objects.select_for_update().exclude(encrypted_credentials="").order_by("pk"):
                try:
                    token = reencrypt_credentials(account.encrypted_credentials)
                except CredentialsUnreadable:
                    unreadable.append(account)
                    continue
                ChannelAccount.objects.filter(pk=account.pk).update(encrypted_credentials=token)
                rotated += 1
        self.stdout.write(f"Re-encrypted the credentials of {rotated} account(s) under the current key.")
        if unreadable:
            names = ", ".join(f"{account.pk} ({account.title})" for account in unreadable)
            raise CommandError(
                f"{len(unreadable)} account(s) could not be decrypted with any configured key and were left as they "
                f"were: {names}. Add the key they were encrypted with to FIELD_ENCRYPTION_OLD_KEYS and run again, "
                "or type their credentials again in the admin."
            )
