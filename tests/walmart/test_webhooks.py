"""Walmart pushes orders (issue 12 §3): the sandbox delivers ORDER_UPDATES to the back-office's
webhook, signed as Walmart's HMAC method does, and the named order is imported at once. Anything
not signed with the account's secret, too large, or not an order notification is refused with a 4xx."""

import hashlib
import hmac
import json
import logging
import time

import pytest
from django.test import Client
from django.urls import reverse

from orders.models import Order
from tests.factories import ChannelAccountFactory

WEBHOOK_SECRET = "whsec-7Hq2-test-only"
HEADER = "X-Walmart-Signature"  # the authHeaderName given when subscribing


def _notification(po: str, event: str = "ORDER_UPDATES") -> bytes:
    return json.dumps({"source": {"eventType": event, "eventId": "e-1", "eventTime": "2026-12-01T10:00:00Z"},
                       "payload": {"subEventType": "PO_CREATED", "order": {"purchaseOrderId": po}}}).encode()


def _post(client: Client, account, body: bytes, *, secret: str = WEBHOOK_SECRET, **headers):
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return client.post(reverse("walmart-webhook", args=[account.pk]), data=body, content_type="application/json",
                       headers={HEADER: signature, **headers})


@pytest.fixture
def hooked_account(db, sandbox_url):
    return ChannelAccountFactory(title="Walmart pushed", base_url=sandbox_url, create_store_order=False,
                                 credentials={"client_id": "c", "client_secret": "s", "webhook_secret": WEBHOOK_SECRET})


@pytest.mark.django_db(transaction=True)
def test_a_sale_delivered_by_the_sandbox_is_imported_at_once(sandbox, live_server, sandbox_url):
    account = ChannelAccountFactory(title="Walmart pushed", base_url=sandbox_url, create_store_order=False,
                                    credentials={"client_id": "c", "client_secret": "s",
                                                 "webhook_secret": WEBHOOK_SECRET})
    sandbox.walmart.webhooks.append({"url": f"{live_server.url}/webhooks/walmart/{account.pk}/",
                                     "secret": WEBHOOK_SECRET, "header": HEADER})
    [po] = sandbox.walmart.create_orders(count=1)
    deadline = time.monotonic() + 10
    while not sandbox.walmart.deliveries and time.monotonic() < deadline:
        time.sleep(0.02)
    [delivery] = sandbox.walmart.deliveries
    assert delivery["status"] == 200 and delivery["document"]["payload"]["subEventType"] == "PO_CREATED"
    assert Order.objects.filter(account=account, channel_order_id=po).exists()  # no poll ran


@pytest.mark.django_db
def test_cancellation_intent_updates_the_order(sandbox, hooked_account, client):
    [po] = sandbox.walmart.create_orders(count=1)
    assert _post(client, hooked_account, _notification(po)).json()["created"] == 1
    sandbox.walmart.request_cancellation(po)
    answer = _post(client, hooked_account, _notification(po, event="INTENT_TO_CANCEL")).json()
    assert answer["updated"] == 1
    assert Order.objects.get(channel_order_id=po).items.get().buyer_cancel_requested


@pytest.mark.django_db
@pytest.mark.parametrize(("make", "status", "reason"), [
    (lambda po: {"body": _notification(po), "secret": "wrong-secret"}, 401, "signature is missing or wrong"),
    (lambda po: {"body": b"{not json"}, 400, "not JSON"),
    (lambda po: {"body": json.dumps({"source": {"eventType": "OFFER_UNPUBLISHED"}}).encode()}, 422, "purchaseOrderId"),
    (lambda po: {"body": json.dumps({"source": {"eventType": "ORDER_UPDATES"},
                                     "payload": {"order": {"purchaseOrderId": ["x"]}}}).encode()}, 422, "purchaseOrderId"),
    (lambda po: {"body": b" " * (64 * 1024 + 1)}, 413, "larger than"),
])
def test_bad_notifications_get_a_clear_4xx_logged_without_secrets(sandbox, hooked_account, caplog, make, status,
                                                                  reason):
    [po] = sandbox.walmart.create_orders(count=1)
    client = Client(enforce_csrf_checks=True)  # the webhook is exempt; the admin is not (below)
    with caplog.at_level(logging.WARNING, logger="orders.webhooks"):
        response = _post(client, hooked_account, **make(po))
    assert response.status_code == status and reason in response.json()["error"]
    assert reason in caplog.text and WEBHOOK_SECRET not in caplog.text
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_only_the_webhook_is_csrf_exempt_and_unknown_accounts_are_refused(sandbox, hooked_account):
    client = Client(enforce_csrf_checks=True)
    body = _notification("1")
    unsigned = client.post(reverse("walmart-webhook", args=[hooked_account.pk]), data=body,
                           content_type="application/json")
    assert unsigned.status_code == 401
    assert _post(client, ChannelAccountFactory(title="no secret"), body).status_code == 403
    assert client.post(reverse("walmart-webhook", args=[999999]), data=body,
                       content_type="application/json").status_code == 404
    assert client.get(reverse("walmart-webhook", args=[hooked_account.pk])).status_code == 405
    assert client.post(reverse("admin:login"), {"username": "x", "password": "y"}).status_code == 403  # CSRF


@pytest.mark.django_db
def test_a_channel_outage_answers_503_so_walmart_sends_it_again(sandbox, hooked_account, client):
    [po] = sandbox.walmart.create_orders(count=1)
    sandbox.faults.add(kind="500", path=f"/v3/orders/{po}$", count=3)
    assert _post(client, hooked_account, _notification(po)).status_code == 503
    assert _post(client, hooked_account, _notification(po)).status_code == 200  # the resend imports it
