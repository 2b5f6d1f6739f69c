from django import forms

from .models import ChannelAccount

SECRET_FIELDS = ("client_id", "client_secret", "refresh_token")


class ChannelAccountForm(forms.ModelForm):
    """Credentials are write-only: the inputs start empty, and an empty input keeps what is stored."""

    base_url = forms.URLField(assume_scheme="https", help_text=ChannelAccount._meta.get_field("base_url").help_text)
    client_id = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False))
    client_secret = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False))
    refresh_token = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Amazon only (LWA refresh token).",
    )

    class Meta:
        model = ChannelAccount
        fields = [
            "channel",
            "title",
            "marketplace",
            "base_url",
            "seller_id",
            "is_active",
            "create_store_order",
            "refund_on_credit_memo",
            "auto_invoice",
            "auto_shipment",
        ]

    def clean(self):
        cleaned = super().clean()
        marketplace = cleaned.get("marketplace")
        if marketplace and cleaned.get("channel") and marketplace.channel != cleaned["channel"]:
            self.add_error("marketplace", "This marketplace belongs to another channel.")
        stored = self.instance.credentials if self.instance.pk else {}
        for name in ("client_id", "client_secret"):
            if not cleaned.get(name) and not stored.get(name):
                self.add_error(name, "Required for a new account.")
        return cleaned

    def save(self, commit: bool = True) -> ChannelAccount:
        account = super().save(commit=False)
        account.set_credentials(**{name: self.cleaned_data.get(name, "") for name in SECRET_FIELDS})
        if commit:
            account.save()
        return account
