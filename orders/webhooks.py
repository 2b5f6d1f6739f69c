"""Walmart's order webhooks (ORDER_UPDATES, and the older PO_CREATED / PO_LINE_AUTOCANCELLED /
INTENT_TO_CANCEL events), one URL per account: /webhooks/walmart/<account id>/.

Authentication is Walmart's HMAC method (developer.walmart.com/us-marketplace/reference/
createsubscription): the header named in the subscription (authHeaderName; here
settings.WALMART_WEBHOOK_SIGNATURE_HEADER) carries HMAC-SHA256 of the whole body keyed by the
subscription's clientSecret, which is the account's webhook secret. Walmart's page does not say how
the digest is encoded, so hex and base64 are both accepted. Nothing here could be checked against
Walmart itself offline: the per-account secret is what keeps strangers out either way.

The view is thin: it checks size, signature and shape, then imports the named order
(orders.services.push). Every refusal is a 4xx with a plain reason, logged without the body or secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from channels.clients import ChannelError
from channels.crypto import CredentialsUnreadable
from channels.models import Channel, ChannelAccount

from .services.push import order_import_pushed

logger = logging.getLogger("orders.webhooks")
ORDER_EVENTS = {"ORDER_UPDATES", "PO_CREATED", "PO_LINE_AUTOCANCELLED", "INTENT_TO_CANCEL"}


def _refuse(status: int, reason: str, account_id: int) -> JsonResponse:
    logger.warning("Walmart webhook for account %s refused (%s): %s", account_id, status, reason)
    return JsonResponse({"error": reason}, status=status)


def signature_valid(*, body: bytes, secret: str, signature: str) -> bool:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return any(hmac.compare_digest(signature.strip(), expected)
               for expected in (digest.hex(), base64.b64encode(digest).decode()))


def purchase_order_id(document: object) -> str:
    """The purchase order a notification names; "" when it names none (or is not one we handle)."""
    if not isinstance(document, dict):
        return ""
    source = document.get("source") if isinstance(document.get("source"), dict) else {}
    payload = document.get("payload") if isinstance(document.get("payload"), dict) else {}
    if (source.get("eventType") or document.get("eventType")) not in ORDER_EVENTS:
        return ""
    order = payload.get("order") if isinstance(payload.get("order"), dict) else payload
    po = order.get("purchaseOrderId")
    return str(po) if isinstance(po, (str, int)) and not isinstance(po, bool) and 0 < len(str(po)) <= 64 else ""


@csrf_exempt  # a server-to-server call signed with the account's secret; no browser session involved
@require_POST
def walmart_webhook(request: HttpRequest, account_id: int) -> JsonResponse:
    try:
        length = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        return _refuse(400, "Content-Length is not a number", account_id)
    if length > settings.WEBHOOK_MAX_BYTES:
        return _refuse(413, f"the notification is larger than {settings.WEBHOOK_MAX_BYTES} bytes", account_id)
    account = ChannelAccount.objects.filter(pk=account_id, channel=Channel.WALMART, is_active=True).first()
    if account is None:
        return _refuse(404, "no active Walmart account has this address", account_id)
    try:
        secret = account.credentials.get("webhook_secret", "")
    except CredentialsUnreadable:
        secret = ""
    signature = request.headers.get(settings.WALMART_WEBHOOK_SIGNATURE_HEADER, "")
    body = request.body
    if len(body) > settings.WEBHOOK_MAX_BYTES:  # sent without (or with a lying) Content-Length
        return _refuse(413, f"the notification is larger than {settings.WEBHOOK_MAX_BYTES} bytes", account_id)
    if not secret:
        return _refuse(403, "the account has no webhook secret: set it before subscribing", account_id)
    if not signature or not signature_valid(body=body, secret=secret, signature=signature):
        return _refuse(401, "the signature is missing or wrong", account_id)
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return _refuse(400, "the body is not JSON", account_id)
    po = purchase_order_id(document)
    if not po:
        return _refuse(422, "not an order notification naming a purchaseOrderId", account_id)
    try:
        result = order_import_pushed(account=account, channel_order_id=po)
    except ChannelError as failure:  # Walmart sends it again; the poll also catches it
        logger.warning("Walmart webhook for account %s: order %s could not be read now: %s", account_id, po,
                       failure.message)
        return JsonResponse({"error": "the order could not be read from Walmart now; send it again"}, status=503)
    return JsonResponse({"purchaseOrderId": po, "created": result.created, "updated": result.updated,
                         "unchanged": result.unchanged, "kept_aside": result.problems})
