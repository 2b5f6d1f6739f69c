"""Where an account's secrets go (issue 11 §2): only users with the credential permission change it,
only by typing the secret again, and only to the channels' own hosts unless settings allow others.
Key rotation re-encrypts every account; an account whose credentials can't be read says so."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import CommandError, call_command
from django.urls import reverse

from channels.crypto import CredentialsUnreadable
from channels.hosts import UntrustedChannelHost, check_channel_url
from channels.models import ChannelAccount
from channels.registry import client_for, forget_clients
from channels.selectors import account_sync_health
from tests.factories import AmazonAccountFactory, ChannelAccountFactory

pytestmark = pytest.mark.django_db
SECRET = "QZX9-walmart-client-secret-K7WJ"
OLD_KEY = "ZmFrZS10ZXN0LWtleS0wMTIzNDU2Nzg5YWJjZGVmZ2g="
NEW_KEY = "bmV3LXRlc3Qta2V5LTAxMjM0NTY3ODlhYmNkZWZnaGk="


@pytest.fixture
def account():
    return ChannelAccountFactory(credentials={"client_id": "client-id-1", "client_secret": SECRET})


def _user_in(django_user_model, group: str, username: str):
    user = django_user_model.objects.create_user(username, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


def _form(account, **overrides):
    data = {"channel": account.channel, "title": account.title, "marketplace": account.marketplace_id,
            "base_url": account.base_url, "seller_id": account.seller_id, "is_active": "on",
            "create_store_order": "on", "refund_on_credit_memo": "on", "auto_invoice": "on", "auto_shipment": "on",
            "client_id": "", "client_secret": "", "refresh_token": "", "token_url": ""}
    data.update(overrides)
    return data


def test_a_user_without_the_credential_permission_cannot_move_base_url(client, django_user_model, account):
    """The attack: edit the account, point base_url at one's own host, capture the next token request."""
    editor = django_user_model.objects.create_user("editor", is_staff=True)
    editor.user_permissions.add(Permission.objects.get(codename="change_channelaccount"),
                                Permission.objects.get(codename="view_channelaccount"))
    client.force_login(editor)
    url = reverse("admin:channels_channelaccount_change", args=[account.pk])
    page = client.get(url).content.decode()
    assert 'name="base_url"' not in page and 'name="client_secret"' not in page
    response = client.post(url, _form(account, base_url="http://127.0.0.1:9999", title="Renamed",
                                      client_secret="attacker-typed"))
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.title == "Renamed"  # the options they may edit
    assert account.base_url == "http://127.0.0.1:8100" and account.credentials["client_secret"] == SECRET


def test_changing_the_address_needs_the_secret_typed_again(client, django_user_model, account):
    client.force_login(_user_in(django_user_model, "Account admin", "accounts"))
    url = reverse("admin:channels_channelaccount_change", args=[account.pk])
    response = client.post(url, _form(account, base_url="http://localhost:8100"))
    assert response.status_code == 200
    assert "Type it again" in response.context["adminform"].form.errors["client_secret"][0]
    assert ChannelAccount.objects.get(pk=account.pk).base_url == "http://127.0.0.1:8100"

    response = client.post(url, _form(account, base_url="http://localhost:8100", client_secret="retyped-secret"))
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.base_url == "http://localhost:8100" and account.credentials["client_secret"] == "retyped-secret"


def test_amazon_token_address_change_needs_both_secrets(client, django_user_model):
    account = AmazonAccountFactory(credentials={"client_id": "id", "client_secret": "s", "refresh_token": "r"})
    client.force_login(_user_in(django_user_model, "Account admin", "accounts"))
    url = reverse("admin:channels_channelaccount_change", args=[account.pk])
    response = client.post(url, _form(account, token_url="http://localhost:8100/auth/o2/token", client_secret="s2"))
    assert response.status_code == 200
    assert "refresh_token" in response.context["adminform"].form.errors
    response = client.post(url, _form(account, token_url="http://localhost:8100/auth/o2/token", client_secret="s2",
                                      refresh_token="r2"))
    assert response.status_code == 302
    stored = ChannelAccount.objects.get(pk=account.pk)
    assert stored.token_url == "http://localhost:8100/auth/o2/token" and "token_url" not in stored.credentials


def test_an_unknown_host_is_refused_in_the_form(client, django_user_model, account, settings):
    settings.CHANNEL_EXTRA_HOSTS = []
    client.force_login(_user_in(django_user_model, "Account admin", "accounts"))
    url = reverse("admin:channels_channelaccount_change", args=[account.pk])
    response = client.post(url, _form(account, base_url="https://evil.example.com", client_secret="x"))
    assert response.status_code == 200
    assert "is not a Walmart API address" in response.context["adminform"].form.errors["base_url"][0]
    response = client.post(url, _form(account, base_url="https://marketplace.walmartapis.com", client_secret="x"))
    assert response.status_code == 302


@pytest.mark.parametrize(("channel", "url", "purpose"), [
    ("walmart", "https://marketplace.walmartapis.com", "api"),
    ("walmart", "https://sandbox.walmartapis.com", "api"),
    ("amazon", "https://sellingpartnerapi-na.amazon.com", "api"),
    ("amazon", "https://sellingpartnerapi-eu.amazon.com", "api"),
    ("amazon", "https://sellingpartnerapi-fe.amazon.com", "api"),
    ("amazon", "https://api.amazon.com/auth/o2/token", "token"),
])
def test_the_channels_own_hosts_are_accepted(settings, channel, url, purpose):
    settings.CHANNEL_EXTRA_HOSTS = []
    check_channel_url(channel=channel, url=url, purpose=purpose)


@pytest.mark.parametrize(("channel", "url", "purpose"), [
    ("walmart", "http://marketplace.walmartapis.com", "api"),  # not https
    ("walmart", "https://marketplace.walmartapis.com.evil.com", "api"),
    ("walmart", "https://sellingpartnerapi-na.amazon.com", "api"),  # another channel's host
    ("amazon", "https://sellingpartnerapi-na.amazon.com:8443", "api"),
    ("amazon", "https://api.amazon.com/auth/o2/token", "api"),  # the token host is not the API
    ("amazon", "https://evil.example/auth/o2/token", "token"),
    ("amazon", "http://127.0.0.1:8100", "api"),  # the sandbox, when settings do not allow it
])
def test_other_hosts_are_refused_in_production(settings, channel, url, purpose):
    settings.CHANNEL_EXTRA_HOSTS = []
    with pytest.raises(UntrustedChannelHost):
        check_channel_url(channel=channel, url=url, purpose=purpose)


def test_no_client_is_built_for_an_account_pointed_elsewhere_another_way(account, settings):
    """Even an account changed outside the admin (shell, SQL) cannot send its secret to a stranger."""
    settings.CHANNEL_EXTRA_HOSTS = []
    forget_clients()
    with pytest.raises(UntrustedChannelHost):
        client_for(account)
    amazon = AmazonAccountFactory(base_url="https://sellingpartnerapi-na.amazon.com",
                                  token_url="https://collector.example/token",
                                  credentials={"client_id": "i", "client_secret": "s", "refresh_token": "r"})
    with pytest.raises(UntrustedChannelHost):
        client_for(amazon)
    forget_clients()


def test_a_production_amazon_account_gets_its_token_from_login_with_amazon(settings):
    settings.CHANNEL_EXTRA_HOSTS = []
    forget_clients()
    amazon = AmazonAccountFactory(base_url="https://sellingpartnerapi-eu.amazon.com",
                                  credentials={"client_id": "i", "client_secret": "s", "refresh_token": "r"})
    assert client_for(amazon).token_url == "https://api.amazon.com/auth/o2/token"
    forget_clients()


def test_rotation_reencrypts_every_account_under_the_new_key(settings, account):
    other = AmazonAccountFactory(credentials={"client_id": "a", "client_secret": "b", "refresh_token": "c"})
    before = {a.pk: a.encrypted_credentials for a in ChannelAccount.objects.all()}
    settings.FIELD_ENCRYPTION_KEY, settings.FIELD_ENCRYPTION_OLD_KEYS = NEW_KEY, [OLD_KEY]
    assert ChannelAccount.objects.get(pk=account.pk).credentials["client_secret"] == SECRET  # old key still read

    call_command("rotate_credentials_key")

    settings.FIELD_ENCRYPTION_OLD_KEYS = []  # the old key is gone: everything must read with the new one
    for stored in ChannelAccount.objects.all():
        assert stored.encrypted_credentials != before[stored.pk]
    assert ChannelAccount.objects.get(pk=account.pk).credentials["client_secret"] == SECRET
    assert ChannelAccount.objects.get(pk=other.pk).credentials == {"client_id": "a", "client_secret": "b",
                                                                   "refresh_token": "c"}


def test_an_account_no_key_can_read_says_so_on_its_health_and_the_rotation_names_it(settings, account, admin_client):
    settings.FIELD_ENCRYPTION_KEY, settings.FIELD_ENCRYPTION_OLD_KEYS = NEW_KEY, []
    account.refresh_from_db()
    health = account_sync_health(account=account)
    assert health.is_failing and "credentials cannot be decrypted" in health.summary
    with pytest.raises(CredentialsUnreadable):
        client_for(account)
    page = admin_client.get(reverse("admin:channels_channelaccount_changelist")).content.decode()
    assert "credentials cannot be decrypted" in page
    with pytest.raises(CommandError, match=f"{account.pk} \\({account.title}\\)"):
        call_command("rotate_credentials_key")
