from django.db import models

from .crypto import CredentialsUnreadable, decrypt_credentials, encrypt_credentials


class Channel(models.TextChoices):
    WALMART = "walmart", "Walmart"
    AMAZON = "amazon", "Amazon"


class OrdersApi(models.TextChoices):
    V2026 = "2026-01-01", "2026-01-01"
    V0 = "v0", "v0 (retiring)"


class Marketplace(models.Model):
    channel = models.CharField(max_length=16, choices=Channel.choices)
    code = models.CharField(max_length=32, help_text="Walmart: US; Amazon: the marketplace id.")
    name = models.CharField(max_length=64)
    currency = models.CharField(max_length=3)

    class Meta:
        ordering = ["channel", "name"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "code"], name="marketplace_channel_code_uniq"),
        ]

    def __str__(self) -> str:
        return self.name


# Days after the ship-by (expected ship) date after which the channel cancels an order line not
# shipped with valid tracking, when the account sets none (ChannelAccount.auto_cancel_days).
#  - Walmart: "a purchase order line that is not updated to Shipped with a valid tracking number by
#    Estimated Ship Date (ESD) plus four calendar days" (developer.walmart.com, us-marketplace docs,
#    "Purchase order (PO) line auto-canceled event"; Seller Center "Performance alarms": the
#    auto-cancellation window is ESD + four days, since 2023-06-06).
#  - Amazon: "Amazon will automatically cancel any order which is not shipped and confirmed within
#    7 business days after the 'ship by' date" (Seller Central forums, "Important update regarding Auto
#    Cancellation timeline", from 2020-09-30).
AUTO_CANCEL_DAYS = {"walmart": 4, "amazon": 7}
# The channels whose days are business days (Monday to Friday, in the operator's time zone; holidays
# are not known here): the deadline is the end of the last of them.
AUTO_CANCEL_IN_BUSINESS_DAYS = frozenset({"amazon"})


class ChannelAccount(models.Model):
    channel = models.CharField(max_length=16, choices=Channel.choices)
    title = models.CharField(max_length=100, unique=True)
    marketplace = models.ForeignKey(Marketplace, on_delete=models.PROTECT, related_name="accounts")
    base_url = models.URLField(help_text="The channel API, or any server speaking its contract (the sandbox).")
    seller_id = models.CharField(
        max_length=64, blank=True, help_text="Amazon merchant identifier used in feeds; Walmart partner id."
    )
    token_url = models.URLField(
        "Token address",
        blank=True,
        help_text="Amazon only: where the refresh token is exchanged (Login with Amazon). Empty: "
        "https://api.amazon.com/auth/o2/token for Amazon's own API hosts, the API address's own otherwise.",
    )
    orders_api = models.CharField(
        "Amazon Orders API",
        max_length=16,
        choices=OrdersApi.choices,
        default=OrdersApi.V2026,
        help_text="Amazon only: which Orders API reads the orders (v0's reads are retired by Amazon on 27 March 2027).",
    )
    # Fernet token of a JSON object (client_id, client_secret, refresh_token…); see channels.crypto.
    encrypted_credentials = models.TextField(blank=True, editable=False)
    is_active = models.BooleanField(default=True)

    # Order options (SPEC §5, R-ACC-*).
    create_store_order = models.BooleanField(
        "Create store order",
        default=True,
        help_text="Create the store order for every imported order that qualifies "
        "(Walmart: acknowledges it too; Amazon: paid orders only).",
    )
    refund_on_credit_memo = models.BooleanField(
        "Cancellation & refund if credit memo is created",
        default=True,
        help_text="When off, credit memos are local only: nothing is sent to the channel.",
    )
    auto_invoice = models.BooleanField(
        default=True, help_text="Invoice the store order once the order is Unshipped or Partially Shipped."
    )
    auto_shipment = models.BooleanField(
        default=True, help_text="Create a shipment when the channel reports the order Shipped."
    )
    auto_cancel_days = models.PositiveSmallIntegerField(
        "Channel cancels unshipped orders after (days)",
        null=True,
        blank=True,
        help_text="Days after the ship-by date after which the channel cancels an order not shipped with valid "
        "tracking, counted as the channel counts them (Walmart: calendar days; Amazon: business days, Monday to "
        "Friday). Empty: the channel's documented default (Walmart: 4 calendar days; Amazon: 7 business days).",
    )

    # Import state (R-SYNC-1, R-SYNC-5).
    last_import_cursor = models.DateTimeField(
        null=True, blank=True, help_text="Last-modified time up to which orders are imported."
    )
    last_import_started_at = models.DateTimeField(null=True, blank=True)
    last_import_succeeded_at = models.DateTimeField(null=True, blank=True)
    last_import_error = models.TextField(blank=True)
    last_import_error_at = models.DateTimeField(null=True, blank=True)
    import_failing_since = models.DateTimeField(null=True, blank=True)
    import_failures = models.PositiveIntegerField(
        default=0, help_text="Import runs failed in a row; beat waits longer after each (backoff)."
    )
    import_retry_at = models.DateTimeField(
        null=True, blank=True, help_text="While failing, beat's next import run waits until then."
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]
        permissions = [
            ("change_credentials", "Can change credentials and where they are sent"),
            ("import_orders", "Can import and reimport orders now"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(channel__in=[c.value for c in Channel]), name="account_channel_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def auto_cancel_after_days(self) -> int:
        return self.auto_cancel_days if self.auto_cancel_days is not None else AUTO_CANCEL_DAYS[self.channel]

    @property
    def credentials(self) -> dict[str, str]:
        return decrypt_credentials(self.encrypted_credentials)

    def set_credentials(self, **values: str) -> None:
        """Merge values into the stored credentials; empty values keep what is stored. Credentials
        no configured key can read are replaced, not merged: re-entering them is how they are
        recovered, so the caller gives every one (ChannelAccountForm requires them)."""
        merged = self.credentials if self.credentials_readable else {}
        merged.update({key: value for key, value in values.items() if value})
        self.encrypted_credentials = encrypt_credentials(merged)

    set_credentials.alters_data = True

    @property
    def credentials_readable(self) -> bool:
        try:
            self.credentials
        except CredentialsUnreadable:
            return False
        return True

    def credential_status(self) -> dict[str, bool]:
        """Which credentials are stored: nothing of their values (raises CredentialsUnreadable)."""
        return {key: bool(value) for key, value in self.credentials.items()}


class PaceBucket(models.Model):
    """One account's request allowance for one channel operation (channels.pacing), shared by every
    worker when Redis is not configured. A token bucket: `tokens` as of `updated` (epoch seconds)."""

    account_key = models.CharField(max_length=64)
    operation = models.CharField(max_length=64)
    tokens = models.FloatField()
    updated = models.FloatField()
    rate = models.FloatField(help_text="Requests per second the channel allows (its published default or header).")
    burst = models.FloatField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account_key", "operation"], name="pacebucket_account_operation_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.account_key} {self.operation}"
