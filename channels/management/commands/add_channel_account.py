from django.core.management.base import BaseCommand, CommandError

from channels.hosts import (AMAZON_MARKETPLACES, AMAZON_REGIONS, AMAZON_TOKEN_URL, UntrustedChannelHost, amazon_api_url,
                            check_channel_url)
from channels.models import Channel, ChannelAccount, Marketplace, OrdersApi

DEFAULT_MARKETPLACES = {
    Channel.WALMART: {"code": "US", "name": "Walmart US", "currency": "USD"},
    Channel.AMAZON: {"code": "ATVPDKIKX0DER", "name": "Amazon.com (US)", "currency": "USD"},
}


class Command(BaseCommand):
    help = ("Add a channel account; credentials are stored encrypted and never printed. An Amazon account "
            "talks to the SP-API host of its marketplace's region unless --base-url or --region says otherwise.")

    def add_arguments(self, parser):
        parser.add_argument("--channel", choices=Channel.values, required=True)
        parser.add_argument("--title", required=True)
        parser.add_argument("--base-url", default="", help="The API address (Amazon: default from the marketplace).")
        parser.add_argument("--region", choices=sorted(AMAZON_REGIONS), default="",
                            help="Amazon: the SP-API region, instead of the marketplace's.")
        parser.add_argument("--token-url", default="",
                            help=f"Amazon: where the refresh token is exchanged (default {AMAZON_TOKEN_URL} for "
                                 "Amazon's hosts, the API address's own otherwise).")
        parser.add_argument("--orders-api", choices=OrdersApi.values, default=OrdersApi.V2026,
                            help="Amazon: the Orders API that reads orders.")
        parser.add_argument("--client-id", required=True)
        parser.add_argument("--client-secret", required=True)
        parser.add_argument("--refresh-token", default="")
        parser.add_argument("--webhook-secret", default="", help="Walmart: the webhook subscription's clientSecret.")
        parser.add_argument("--seller-id", default="")
        parser.add_argument("--marketplace", default="", help="Marketplace code (default: the channel's US one).")
        parser.add_argument("--no-create-store-order", action="store_true")
        parser.add_argument("--no-refund-on-credit-memo", action="store_true")
        parser.add_argument("--no-auto-invoice", action="store_true")
        parser.add_argument("--no-auto-shipment", action="store_true")

    def handle(self, *args, **opts):
        channel = opts["channel"]
        defaults = DEFAULT_MARKETPLACES[channel]
        code = opts["marketplace"] or defaults["code"]
        if channel == Channel.AMAZON and code in AMAZON_MARKETPLACES and code != defaults["code"]:
            _region, country, currency = AMAZON_MARKETPLACES[code]
            defaults = {"name": f"Amazon {country}", "currency": currency}
        marketplace, _ = Marketplace.objects.get_or_create(
            channel=channel, code=code, defaults={**defaults, "code": code}
        )
        if ChannelAccount.objects.filter(title=opts["title"]).exists():
            raise CommandError(f"An account titled {opts['title']!r} exists already.")
        base_url = opts["base_url"]
        if not base_url and channel == Channel.AMAZON:
            try:
                base_url = amazon_api_url(marketplace_id=code, region=opts["region"])
            except ValueError as unknown:
                raise CommandError(str(unknown)) from None
        if not base_url:
            raise CommandError("--base-url is required for a Walmart account.")
        token_url = opts["token_url"] if channel == Channel.AMAZON else ""
        for url, purpose in ((base_url, "api"), *(((token_url, "token"),) if token_url else ())):
            try:
                check_channel_url(channel=channel, url=url, purpose=purpose)
            except UntrustedChannelHost as untrusted:
                raise CommandError(str(untrusted)) from None
        account = ChannelAccount(
            channel=channel,
            title=opts["title"],
            marketplace=marketplace,
            base_url=base_url,
            token_url=token_url,
            orders_api=opts["orders_api"],
            seller_id=opts["seller_id"],
            create_store_order=not opts["no_create_store_order"],
            refund_on_credit_memo=not opts["no_refund_on_credit_memo"],
            auto_invoice=not opts["no_auto_invoice"],
            auto_shipment=not opts["no_auto_shipment"],
        )
        account.set_credentials(
            client_id=opts["client_id"], client_secret=opts["client_secret"], refresh_token=opts["refresh_token"],
            webhook_secret=opts["webhook_secret"],
        )
        account.save()
        self.stdout.write(f"Added account {account.pk}: {account.title} ({account.get_channel_display()}) → "
                          f"{account.base_url}.")
