from django import forms

from .hosts import UntrustedChannelHost, amazon_api_url, check_channel_url, default_token_url
from .models import Channel, ChannelAccount, OrdersApi

SECRET_FIELDS = ("client_id", "client_secret", "refresh_token", "webhook_secret")
# Where an account connects: only users with the credential permission change these.
DESTINATION_FIELDS = ("channel", "marketplace", "base_url", "token_url", "orders_api")
OPTION_FIELDS = ["title", "seller_id", "is_active", "create_store_order", "refund_on_credit_memo", "auto_invoice",
                 "auto_shipment", "auto_cancel_days"]
# What must be typed again when the address they are sent to changes, per channel.
RESEND_SECRETS = {Channel.WALMART: ("client_secret",), Channel.AMAZON: ("client_secret", "refresh_token")}
# What an account authenticates with, per channel: all typed again when no key can read what is stored.
# (A Walmart webhook secret is optional, and Amazon has none.)
ALL_SECRETS = {Channel.WALMART: ("client_id", "client_secret"),
               Channel.AMAZON: ("client_id", "client_secret", "refresh_token")}


class ChannelAccountForm(forms.ModelForm):
    """For users with the credential permission. Credentials are write-only: the inputs start
    empty, and an empty input keeps what is stored. Changing where the secrets are sent (the API
    address, Amazon's token address) needs them typed again, and only the channels' own hosts
    are accepted (channels.hosts)."""

    base_url = forms.URLField(
        required=False, assume_scheme="https",
        help_text=f"{ChannelAccount._meta.get_field('base_url').help_text} Amazon: empty picks the marketplace's "
        "regional host (North America, Europe, Far East).")
    client_id = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False))
    client_secret = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False))
    refresh_token = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Amazon only (LWA refresh token).",
    )
    token_url = forms.URLField(required=False, assume_scheme="https", label="Token address",
                               help_text=ChannelAccount._meta.get_field("token_url").help_text)
    orders_api = forms.ChoiceField(required=False, choices=OrdersApi.choices, label="Amazon Orders API",
                                   help_text=ChannelAccount._meta.get_field("orders_api").help_text)
    webhook_secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Walmart only: the clientSecret of the webhook subscription (authMethod HMAC); "
        "notifications signed otherwise are refused.",
    )

    class Meta:
        model = ChannelAccount
        fields = [*DESTINATION_FIELDS, *OPTION_FIELDS]

    def clean_orders_api(self) -> str:
        return self.cleaned_data.get("orders_api") or self.instance.orders_api or OrdersApi.V2026

    def clean(self):
        cleaned = super().clean()
        channel = cleaned.get("channel")
        marketplace = cleaned.get("marketplace")
        if marketplace and channel and marketplace.channel != channel:
            self.add_error("marketplace", "This marketplace belongs to another channel.")
        unreadable = bool(self.instance.pk) and not self.instance.credentials_readable
        stored = self.instance.credentials if self.instance.pk and not unreadable else {}
        if unreadable:
            # Re-entering them is the recovery the account's health asks for: nothing stored is kept.
            for name in ALL_SECRETS.get(channel, ("client_id", "client_secret")):
                if not cleaned.get(name):
                    self.add_error(name, "The stored credentials cannot be decrypted: type every one again.")
        for name in ("client_id", "client_secret"):
            if not unreadable and not cleaned.get(name) and not stored.get(name):
                self.add_error(name, "Required for a new account.")
        if channel == Channel.AMAZON and not cleaned.get("base_url") and marketplace and "base_url" not in self.errors:
            try:
                cleaned["base_url"] = amazon_api_url(marketplace_id=marketplace.code)
            except ValueError as unknown:
                self.add_error("base_url", f"{unknown}.")
        elif not cleaned.get("base_url") and "base_url" not in self.errors:
            self.add_error("base_url", "Required: the channel's API address.")
        if channel and cleaned.get("base_url"):
            self._check_destination(channel, cleaned, stored)
        return cleaned

    def _check_destination(self, channel: str, cleaned: dict, stored: dict) -> None:
        base_url = cleaned["base_url"]  # add_error() below drops it from cleaned
        token_url = cleaned.get("token_url") or default_token_url(base_url=base_url)
        destinations = [("base_url", base_url, "api")]
        if channel == Channel.AMAZON:
            destinations.append(("token_url", token_url, "token"))
        for field, url, purpose in destinations:
            try:
                check_channel_url(channel=channel, url=url, purpose=purpose)
            except UntrustedChannelHost as refusal:
                self.add_error(field, f"{refusal}.")
        if not self.instance.pk:
            return
        old_base = self.instance.base_url
        old_token = self.instance.token_url or default_token_url(base_url=old_base)
        moved = base_url != old_base or channel != self.instance.channel
        if channel == Channel.AMAZON:
            moved = moved or token_url != old_token
        if moved:
            for name in RESEND_SECRETS[channel]:
                if not cleaned.get(name):
                    self.add_error(name, "Type it again: the account's address changed, and the secret goes there.")

    def save(self, commit: bool = True) -> ChannelAccount:
        account = super().save(commit=False)
        account.base_url = self.cleaned_data["base_url"]
        account.set_credentials(**{name: self.cleaned_data.get(name, "") for name in SECRET_FIELDS})
        if commit:
            account.save()
        return account


class ChannelAccountOptionsForm(forms.ModelForm):
    """For users who may edit an account but not its credentials: where it connects and what it
    authenticates with are shown read-only and cannot be changed."""

    class Meta:
        model = ChannelAccount
        fields = OPTION_FIELDS
