"""Issue 12 §1: an Amazon account created for production talks to Amazon's real hosts — Login with
Amazon for its token, the SP-API host of its marketplace's region for everything else. Checked through
a recording transport: every request the client sends is recorded with the address it was meant for,
then answered by the local sandbox, so nothing leaves the machine."""

import urllib.parse

import pytest
import requests
from django.core.management import CommandError, call_command
from requests.adapters import HTTPAdapter

from channels.models import ChannelAccount
from channels.registry import client_for, forget_clients

pytestmark = pytest.mark.django_db


class RecordingTransport(HTTPAdapter):
    """Records the https address of each request and sends it to the sandbox instead."""

    def __init__(self, sandbox_url: str) -> None:
        super().__init__()
        self.sandbox = urllib.parse.urlsplit(sandbox_url)
        self.sent: list[tuple[str, str, str]] = []  # (method, host, path)

    def send(self, request, **kwargs):
        meant = urllib.parse.urlsplit(request.url)
        self.sent.append((request.method, meant.hostname, meant.path))
        request.url = urllib.parse.urlunsplit(meant._replace(scheme="http", netloc=self.sandbox.netloc))
        return super().send(request, **kwargs)


def _production_account(title: str, **options) -> ChannelAccount:
    call_command("add_channel_account", channel="amazon", title=title, client_id="amzn1.application-oa2-client.x",
                 client_secret="prod-secret", refresh_token="Atzr|prod-refresh", seller_id="A3TH9S8BH6GOGM",
                 **options)
    return ChannelAccount.objects.get(title=title)


def _recorded(account: ChannelAccount, sandbox_url: str) -> tuple[RecordingTransport, object]:
    forget_clients()
    client = client_for(account)
    transport = RecordingTransport(sandbox_url)
    client.session.mount("https://", transport)
    client.session.mount("http://", transport)  # nothing may go out in plain http either
    return transport, client


@pytest.mark.parametrize(("marketplace", "host"), [
    ("ATVPDKIKX0DER", "sellingpartnerapi-na.amazon.com"),  # US
    ("A1PA6795UKMFR9", "sellingpartnerapi-eu.amazon.com"),  # DE
    ("A1VC38T7YXB528", "sellingpartnerapi-fe.amazon.com"),  # JP
])
def test_a_production_account_talks_to_login_with_amazon_and_its_regional_host(sandbox, sandbox_url, settings,
                                                                               marketplace, host):
    settings.CHANNEL_EXTRA_HOSTS = []  # production: only the channels' own hosts
    account = _production_account(f"Amazon {marketplace}", marketplace=marketplace)
    assert account.base_url == f"https://{host}" and account.orders_api == "2026-01-01"
    [order_id] = sandbox.amazon.create_orders(count=1)
    transport, client = _recorded(account, sandbox_url)

    pages = list(client.iter_order_pages(page_size=10))
    client.get_order(order_id)

    sold_here = marketplace == "ATVPDKIKX0DER"  # the sandbox sells in the US marketplace only
    assert [entry.channel_order_id for entry in pages[0]] == ([order_id] if sold_here else [])
    assert transport.sent[0] == ("POST", "api.amazon.com", "/auth/o2/token")
    assert transport.sent[1:] == [("GET", host, "/orders/2026-01-01/orders"),
                                  ("GET", host, f"/orders/2026-01-01/orders/{order_id}")]
    forget_clients()


def test_region_and_token_address_can_be_chosen_and_unknown_hosts_are_refused(settings):
    settings.CHANNEL_EXTRA_HOSTS = []
    account = _production_account("Amazon US via EU", region="eu", token_url="https://api.amazon.co.uk/auth/o2/token")
    assert account.base_url == "https://sellingpartnerapi-eu.amazon.com"
    assert account.token_url == "https://api.amazon.co.uk/auth/o2/token" and "token_url" not in account.credentials
    with pytest.raises(CommandError, match="not a Amazon token address"):
        _production_account("Amazon elsewhere", token_url="https://collector.example/token")
    with pytest.raises(CommandError, match="no Amazon region known"):
        _production_account("Amazon nowhere", marketplace="XXUNKNOWN")


def test_v0_accounts_read_buyer_data_with_a_restricted_data_token(sandbox, sandbox_url, settings):
    """Orders v0's buyer and address fields are restricted: the client asks the Tokens API for one
    RDT covering getOrders, getOrder and getOrderItems, caches it, and sends it on those calls."""
    settings.CHANNEL_EXTRA_HOSTS = []
    account = _production_account("Amazon v0", orders_api="v0")
    sandbox.amazon.create_orders(count=3)
    transport, client = _recorded(account, sandbox_url)

    [page] = list(client.iter_order_pages(page_size=10))
    client.get_order(page[0].channel_order_id)

    assert all(order.buyer_name and order.buyer_email and order.shipping_address["address1"] for order in page)
    tokens = [path for method, _host, path in transport.sent if path == "/tokens/2021-03-01/restrictedDataToken"]
    assert tokens == ["/tokens/2021-03-01/restrictedDataToken"]  # one RDT, reused for every read
    [rdt_request] = sandbox.requests.all(path="restrictedDataToken$")
    assert {r["path"] for r in rdt_request.body["restrictedResources"]} == {
        "/orders/v0/orders", "/orders/v0/orders/{orderId}", "/orders/v0/orders/{orderId}/orderItems"}
    forget_clients()


def test_the_sandbox_sends_v0_personal_data_only_with_a_valid_restricted_data_token(sandbox, sandbox_url):
    [order_id] = sandbox.amazon.create_orders(count=1)
    form = {"grant_type": "refresh_token", "refresh_token": "r", "client_id": "c", "client_secret": "s"}
    access = requests.post(f"{sandbox_url}/auth/o2/token", data=form).json()["access_token"]

    def order(token: str) -> requests.Response:
        return requests.get(f"{sandbox_url}/orders/v0/orders/{order_id}", headers={"x-amz-access-token": token})

    plain = order(access).json()["payload"]
    assert plain["BuyerInfo"] == {} and set(plain["ShippingAddress"]) == {"City", "StateOrRegion", "PostalCode",
                                                                          "CountryCode"}
    rdt = requests.post(f"{sandbox_url}/tokens/2021-03-01/restrictedDataToken", headers={"x-amz-access-token": access},
                        json={"restrictedResources": [{"method": "GET", "path": f"/orders/v0/orders/{order_id}",
                                                       "dataElements": ["buyerInfo"]}]}).json()["restrictedDataToken"]
    granted = order(rdt).json()["payload"]
    assert granted["BuyerInfo"]["BuyerEmail"] and "AddressLine1" not in granted["ShippingAddress"]  # buyerInfo only
    other = requests.get(f"{sandbox_url}/orders/v0/orders", headers={"x-amz-access-token": rdt},
                         params={"MarketplaceIds": "ATVPDKIKX0DER", "CreatedAfter": "2020-01-01T00:00:00Z"})
    assert other.status_code == 403  # an RDT opens only the resources it was granted for
    sandbox.amazon.restricted[rdt].expires = sandbox.amazon.restricted[rdt].expires.replace(year=2000)
    assert order(rdt).status_code == 403  # expired
