from django.core.management.base import BaseCommand, CommandError

from channels.hosts import UntrustedChannelHost, check_channel_url, default_token_url
from channels.models import Channel, ChannelAccount, Marketplace

DEFAULT_MARKETPLACES = {
    Channel.WALMART: {"code": "US", "name": "Walmart US", "currency": "USD"},
    Channel.AMAZON: {"code": "ATVPDKIKX0DER", "name": "Amazon.com (US)", "currency": "USD"},
}


class Command(BaseCommand):
    help = "Add a channel account; credentials are stored encrypted and never printed."

    def add_arguments(self, parser):
        parser.add_argument("--channel", choices=Channel.values, required=True)
        parser.add_argument("--title", required=True)
        parser.add_argument("--base-url", required=True)
        parser.add_argument("--client-id", required=True)
        parser.add_argument("--client-secret", required=True)
        parser.add_argument("--refresh-token", default="")
        parser.add_argument("--seller-id", default="")
        parser.add_argument("--marketplace", default="", help="Marketplace code (default: the channel's US one).")
        parser.add_argument("--no-create-store-order", action="store_true")
        parser.add_argument("--no-refund-on-credit-memo", action="store_true")
        parser.add_argument("--no-auto-invoice", action="store_true")
        parser.add_argument("--no-auto-shipment", action="store_true")

    def handle(self, *args, **opts):
        channel = opts["channel"]
        self._check_destinations(channel=channel, base_url=opts["base_url"])
        defaults = DEFAULT_MARKETPLACES[channel]
        code = opts["marketplace"] or defaults["code"]
        marketplace, _ = Marketplace.objects.get_or_create(
            channel=channel, code=code, defaults={**defaults, "code": code}
        )
        if ChannelAccount.objects.filter(title=opts["title"]).exists():
            raise CommandError(f"An account titled {opts['title']!r} exists already.")
        account = ChannelAccount(
            channel=channel,
            title=opts["title"],
            marketplace=marketplace,
            base_url=opts["base_url"],
            seller_id=opts["seller_id"],
            create_store_order=not opts["no_create_store_order"],
            refund_on_credit_memo=not opts["no_refund_on_credit_memo"],
            auto_invoice=not opts["no_auto_invoice"],
            auto_shipment=not opts["no_auto_shipment"],
        )
        account.set_credentials(
            client_id=opts["client_id"], client_secret=opts["client_secret"], refresh_token=opts["refresh_token"]
        )
        account.save()
        self.stdout.write(f"Added account {account.pk}: {account.title} ({account.get_channel_display()}).")

    def _check_destinations(self, *, channel: str, base_url: str) -> None:
        """The same host check as the admin form: the secrets go only to the channel's own hosts."""
        destinations = [(base_url, "api")]
        if channel == Channel.AMAZON:
            destinations.append((default_token_url(base_url=base_url), "token"))
        try:
            for url, purpose in destinations:
                check_channel_url(channel=channel, url=url, purpose=purpose)
        except UntrustedChannelHost as refusal:
            raise CommandError(f"{refusal}.") from None
