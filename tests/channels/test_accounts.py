"""Channel accounts: credentials encrypted at rest, write-only in the admin, never shown in full."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from channels.crypto import CredentialsUnreadable, decrypt_credentials
from channels.models import ChannelAccount
from tests.factories import ChannelAccountFactory, MarketplaceFactory, create_order

pytestmark = pytest.mark.django_db
SECRET = "QZX9-very-secret-client-secret-K7WJ"
CLIENT_ID = "CIDQ-client-id-0123456789-WXYZ"


@pytest.fixture
def account():
    return ChannelAccountFactory(credentials={"client_id": CLIENT_ID, "client_secret": SECRET})


def test_credentials_are_encrypted_at_rest(account):
    stored = ChannelAccount.objects.values_list("encrypted_credentials", flat=True).get(pk=account.pk)
    assert SECRET not in stored and CLIENT_ID not in stored
    assert decrypt_credentials(stored) == {"client_id": CLIENT_ID, "client_secret": SECRET}


def test_wrong_key_fails_without_leaking(account, settings):
    settings.FIELD_ENCRYPTION_KEY = "bm90LXRoZS1yaWdodC1rZXktMDEyMzQ1Njc4OWFiY2Q="

    with pytest.raises(CredentialsUnreadable) as error:
        ChannelAccount.objects.get(pk=account.pk).credentials
    assert SECRET not in str(error.value)


def test_credentials_never_appear_in_any_admin_page(admin_client, account):
    create_order(account=account)
    pages = [
        reverse("admin:channels_channelaccount_changelist"),
        reverse("admin:channels_channelaccount_change", args=[account.pk]),
        reverse("admin:orders_order_changelist"),
        reverse("admin:orders_order_change", args=[account.orders.get().pk]),
        reverse("admin:orders_orderlog_changelist"),
        reverse("admin:index"),
    ]
    for url in pages:
        html = admin_client.get(url).content.decode()
        assert SECRET not in html and CLIENT_ID not in html, url
    change_page = admin_client.get(pages[1]).content.decode()
    # Nothing of a secret, not even its first or last characters: only whether it is set.
    assert "client_id: set, client_secret: set, refresh_token: not set" in change_page
    for fragment in (SECRET[:4], SECRET[-4:], CLIENT_ID[:4], CLIENT_ID[-4:]):
        assert fragment not in change_page


def _form_data(account, **overrides):
    data = {
        "channel": account.channel,
        "title": account.title,
        "marketplace": account.marketplace_id,
        "base_url": account.base_url,
        "seller_id": account.seller_id,
        "is_active": "on",
        "create_store_order": "on",
        "refund_on_credit_memo": "on",
        "auto_invoice": "on",
        "auto_shipment": "on",
        "client_id": "",
        "client_secret": "",
        "refresh_token": "",
    }
    data.update(overrides)
    return data


def test_empty_secret_inputs_keep_the_stored_credentials(admin_client, account):
    url = reverse("admin:channels_channelaccount_change", args=[account.pk])
    response = admin_client.post(url, _form_data(account, title="Renamed"))
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.title == "Renamed"
    assert account.credentials == {"client_id": CLIENT_ID, "client_secret": SECRET}


def test_new_secret_replaces_the_stored_one(admin_client, account):
    url = reverse("admin:channels_channelaccount_change", args=[account.pk])
    admin_client.post(url, _form_data(account, client_secret="rotated-secret-value-123"))
    account.refresh_from_db()
    assert account.credentials["client_secret"] == "rotated-secret-value-123"


def test_new_account_requires_credentials_and_matching_marketplace(admin_client):
    amazon_marketplace = MarketplaceFactory(channel="amazon", code="ATVPDKIKX0DER", name="Amazon US")
    url = reverse("admin:channels_channelaccount_add")
    data = {
        "channel": "walmart",
        "title": "New",
        "marketplace": amazon_marketplace.pk,
        "base_url": "http://127.0.0.1:8100",
        "client_id": "",
        "client_secret": "",
    }
    response = admin_client.post(url, data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["marketplace"] == ["This marketplace belongs to another channel."]
    assert errors["client_id"] == ["Required for a new account."]
    assert not ChannelAccount.objects.filter(title="New").exists()


def test_add_channel_account_command_stores_encrypted_and_prints_no_secret(capsys):
    call_command(
        "add_channel_account",
        "--channel", "walmart", "--title", "CLI", "--base-url", "http://127.0.0.1:8100",
        "--client-id", CLIENT_ID, "--client-secret", SECRET, "--no-auto-invoice",
    )
    out = capsys.readouterr().out
    assert SECRET not in out and "CLI" in out
    account = ChannelAccount.objects.get(title="CLI")
    assert account.credentials["client_secret"] == SECRET
    assert account.auto_invoice is False and account.create_store_order is True
