"""Where an account's secrets go (issue 11 §2): only users with the credential permission change it,
only by typing the secret again, and only to the channels' own hosts unless settings allow others.
Key rotation re-encrypts every account; an account whose credentials can't be read says so."""

import io

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


# Addresses that read as a channel host to one parser and as another host to the HTTP client, or
# that carry anything but scheme, host, port and path. (channel, purpose, url, extra hosts allowed)
TRICKY_URLS = [
    # urlsplit reads marketplace.walmartapis.com; urllib3 / requests connect to evil.com
    ("walmart", "api", "https://evil.com\\@marketplace.walmartapis.com"),
    ("amazon", "token", "https://evil.com\\@api.amazon.com/auth/o2/token"),
    ("walmart", "api", "https://marketplace.walmartapis.com\\.evil.com"),
    ("walmart", "api", "https://evil.com%5C@marketplace.walmartapis.com"),  # user info, encoded backslash
    ("walmart", "api", "https://user:pass@marketplace.walmartapis.com"),
    ("walmart", "api", "https://marketplace.walmartapis.com@evil.com"),
    ("walmart", "api", "https://evil.com#@marketplace.walmartapis.com"),
    ("walmart", "api", "https://evil.com?@marketplace.walmartapis.com"),
    ("walmart", "api", "https://marketplace.walmartapis.com/v3?next=https://evil.com"),
    ("walmart", "api", "https://marketplace%2Ewalmartapis.com"),  # encoded dot: urllib3 decodes it
    ("walmart", "api", "https://marketplace.walmart\u0430pis.com"),  # Cyrillic a: an IDN lookalike
    ("walmart", "api", "https://xn--marketplace-walmrtapis-4qc.com"),  # and its punycode form
    ("walmart", "api", "https://marketplace.walmartapis.com."),  # trailing dot
    ("walmart", "api", "https://marketplace.walmartapis.com:8443"),
    ("walmart", "api", "https://[::1]:8100"),
    ("walmart", "api", "https://[2001:db8::1]"),
    ("walmart", "api", "http://marketplace.walmartapis.com"),  # not https
    ("walmart", "api", " https://marketplace.walmartapis.com"),
    ("walmart", "api", "https://marketplace.walmartapis.com\t"),
    ("amazon", "api", "https://sellingpartnerapi-na.amazon.com.evil.com"),
    ("amazon", "token", "https://api.amazon.com:444/auth/o2/token"),
    # the sandbox host is allowed here (CHANNEL_EXTRA_HOSTS), but not as a disguise for another
    ("walmart", "api", "http://evil.com\\@127.0.0.1:8100"),
    ("walmart", "api", "http://127.0.0.1:8100@evil.com"),
    ("walmart", "api", "http://user:pw@127.0.0.1:8100"),
]
SAFE_URLS = [
    ("walmart", "api", "HTTPS://MARKETPLACE.WALMARTAPIS.COM"),  # the same host, as the client reads it
    ("walmart", "api", "https://marketplace.walmartapis.com:443/"),
    ("amazon", "token", "https://api.amazon.co.uk/auth/o2/token"),
    ("walmart", "api", "http://127.0.0.1:8100"),
]
EXTRA_HOSTS = ["127.0.0.1", "localhost"]


def test_the_http_client_reads_the_backslash_address_as_another_host():
    """Why the check parses like urllib3: this is the address a plain urlsplit check let through."""
    from urllib.parse import urlsplit

    from urllib3.util import parse_url

    url = TRICKY_URLS[0][2]
    assert urlsplit(url).hostname == "marketplace.walmartapis.com" and parse_url(url).host == "evil.com"


@pytest.mark.parametrize(("channel", "purpose", "url"), TRICKY_URLS)
def test_tricky_addresses_are_refused_by_the_check(settings, channel, purpose, url):
    settings.CHANNEL_EXTRA_HOSTS = EXTRA_HOSTS
    with pytest.raises(UntrustedChannelHost):
        check_channel_url(channel=channel, url=url, purpose=purpose)


@pytest.mark.parametrize(("channel", "purpose", "url"), SAFE_URLS)
def test_plain_addresses_of_allowed_hosts_pass_the_check(settings, channel, purpose, url):
    settings.CHANNEL_EXTRA_HOSTS = EXTRA_HOSTS
    check_channel_url(channel=channel, url=url, purpose=purpose)


def test_tricky_addresses_are_refused_by_the_admin_form(client, django_user_model, settings):
    settings.CHANNEL_EXTRA_HOSTS = EXTRA_HOSTS
    walmart = ChannelAccountFactory(credentials={"client_id": "id", "client_secret": SECRET})
    amazon = AmazonAccountFactory(credentials={"client_id": "i", "client_secret": "s", "refresh_token": "r"})
    client.force_login(_user_in(django_user_model, "Account admin", "accounts"))
    accepted = []
    # (the form strips surrounding blanks, so what it would store is the plain address: not tried here)
    for channel, purpose, url in [row for row in TRICKY_URLS if row[2] == row[2].strip()]:
        account = walmart if channel == "walmart" else amazon
        field = "base_url" if purpose == "api" else "token_url"
        response = client.post(reverse("admin:channels_channelaccount_change", args=[account.pk]), _form(
            account, **{field: url}, client_secret="retyped", refresh_token="retyped"))
        if response.status_code != 200 or field not in response.context["adminform"].form.errors:
            accepted.append(url)
    assert not accepted, f"the form accepted {accepted}"
    walmart.refresh_from_db(), amazon.refresh_from_db()
    assert walmart.base_url == amazon.base_url == "http://127.0.0.1:8100"
    assert walmart.credentials["client_secret"] == SECRET and "token_url" not in amazon.credentials


def test_tricky_addresses_are_refused_when_the_client_is_built(settings):
    """Set another way (shell, SQL, an old row): no client is built, so no secret leaves."""
    settings.CHANNEL_EXTRA_HOSTS = EXTRA_HOSTS
    walmart = ChannelAccountFactory()
    amazon = AmazonAccountFactory(credentials={"client_id": "i", "client_secret": "s", "refresh_token": "r"})
    built = []
    for channel, purpose, url in TRICKY_URLS:
        forget_clients()
        if channel == "walmart":
            ChannelAccount.objects.filter(pk=walmart.pk).update(base_url=url)
            account = ChannelAccount.objects.get(pk=walmart.pk)
        elif purpose == "api":
            ChannelAccount.objects.filter(pk=amazon.pk).update(base_url=url)
            account = ChannelAccount.objects.get(pk=amazon.pk)
        else:
            account = ChannelAccount.objects.get(pk=amazon.pk)
            account.base_url, account.token_url = "http://127.0.0.1:8100", url
        try:
            client_for(account)
        except UntrustedChannelHost:
            continue
        built.append(url)
    forget_clients()
    assert not built, f"a client was built for {built}"


@pytest.mark.parametrize("url", ["https://evil.com\\@marketplace.walmartapis.com", "https://evil.example.com"])
def test_add_channel_account_refuses_an_untrusted_address(settings, url):
    settings.CHANNEL_EXTRA_HOSTS = []
    with pytest.raises(CommandError, match="is not a Walmart API address"):
        call_command("add_channel_account", "--channel", "walmart", "--title", "CLI", "--base-url", url,
                     "--client-id", "id", "--client-secret", SECRET)
    assert not ChannelAccount.objects.filter(title="CLI").exists()


def test_add_channel_account_checks_where_an_amazon_token_goes(settings):
    settings.CHANNEL_EXTRA_HOSTS = []
    call_command("add_channel_account", "--channel", "amazon", "--title", "Amazon EU", "--base-url",
                 "https://sellingpartnerapi-eu.amazon.com", "--client-id", "i", "--client-secret", "s",
                 "--refresh-token", "r", stdout=io.StringIO())
    assert ChannelAccount.objects.filter(title="Amazon EU").exists()


@pytest.mark.parametrize("factory", [ChannelAccountFactory, AmazonAccountFactory])
def test_credentials_no_key_can_read_are_recovered_by_typing_them_again_in_the_admin(
        client, django_user_model, settings, factory):
    """The recovery the account's health asks for: it answered 500 (set_credentials read the old ones)."""
    account = factory(credentials={"client_id": "old-id", "client_secret": "old-secret", "refresh_token": "old-r"})
    settings.FIELD_ENCRYPTION_KEY, settings.FIELD_ENCRYPTION_OLD_KEYS = NEW_KEY, []  # the old key is lost
    client.force_login(_user_in(django_user_model, "Account admin", "accounts"))
    url = reverse("admin:channels_channelaccount_change", args=[account.pk])
    assert "Cannot be decrypted with the configured keys" in client.get(url).content.decode()

    response = client.post(url, _form(account, client_secret="new-secret"))  # one is not enough: all are lost
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    needed = {"client_id"} | ({"refresh_token"} if account.channel == "amazon" else set())
    assert set(errors) == needed and "type every one again" in errors["client_id"][0]
    assert not ChannelAccount.objects.get(pk=account.pk).credentials_readable

    values = {"client_id": "new-id", "client_secret": "new-secret", "refresh_token": "new-r"}
    response = client.post(url, _form(account, **values))
    assert response.status_code == 302
    recovered = ChannelAccount.objects.get(pk=account.pk)
    assert recovered.credentials == values  # nothing of the unreadable ones kept
    assert "cannot be decrypted" not in account_sync_health(account=recovered).summary


MASK_SECRETS = {"client_id": "cid7Hn3QpW", "client_secret": "Zq8VrXk2Lm9PwT4c", "refresh_token": "Atzr9GfYb3KdQ"}


def _pieces(secret: str, size: int = 4) -> set[str]:
    return {secret[i:i + size] for i in range(len(secret) - size + 1)}


def test_a_viewer_sees_of_a_secret_only_whether_it_is_set_on_the_change_list_and_history_pages(
        client, django_user_model):
    account = AmazonAccountFactory(credentials=MASK_SECRETS)
    editor = _user_in(django_user_model, "Account admin", "accounts")
    client.force_login(editor)  # an edit, so the history page has an entry about the credentials
    assert client.post(reverse("admin:channels_channelaccount_change", args=[account.pk]),
                       _form(account, client_secret=MASK_SECRETS["client_secret"])).status_code == 302
    client.force_login(_user_in(django_user_model, "Viewer", "viewer"))
    pages = {page: client.get(reverse(f"admin:channels_channelaccount_{page}", args=args)).content.decode()
             for page, args in (("change", [account.pk]), ("changelist", []), ("history", [account.pk]))}
    for page, html in pages.items():
        shown = sorted(piece for secret in MASK_SECRETS.values() for piece in _pieces(secret) if piece in html)
        assert not shown, f"{page} page shows pieces of a secret: {shown}"
    assert "client_id: set, client_secret: set, refresh_token: set" in pages["change"]
    assert 'name="client_secret"' not in pages["change"] and 'type="password"' not in pages["change"]
    assert "Changed" in pages["history"]  # the history entry is there, without values


def test_who_may_edit_accounts_but_not_credentials_cannot_add_one(client, django_user_model):
    """Adding sets where the secrets go: the credential permission, or nothing."""
    editor = django_user_model.objects.create_user("editor", is_staff=True)
    editor.user_permissions.add(*Permission.objects.filter(codename__in=[
        "view_channelaccount", "change_channelaccount", "add_channelaccount"]))
    client.force_login(editor)
    add = reverse("admin:channels_channelaccount_add")
    assert client.get(add).status_code == 403
    account = ChannelAccountFactory.build()
    response = client.post(add, _form(account, marketplace=ChannelAccountFactory().marketplace_id,
                                      title="Collector", base_url="http://127.0.0.1:9999",
                                      client_id="i", client_secret="s"))
    assert response.status_code == 403 and not ChannelAccount.objects.filter(title="Collector").exists()
    changelist = client.get(reverse("admin:channels_channelaccount_changelist")).content.decode()
    assert add not in changelist  # no "Add" button either
