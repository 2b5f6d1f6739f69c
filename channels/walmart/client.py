"""Walmart Marketplace v3 client (CONTRACTS.md, Walmart): token, orders, acknowledge, shipping,
cancel, refund, returns. Speaks the records of channels.clients."""

from __future__ import annotations

import base64
import datetime as dt
import logging
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import requests

from ..clients import (
    ActionReceipt,
    CancelRequest,
    ChannelOrder,
    ChannelReturn,
    OrderNotFound,
    OrderPage,
    PermanentChannelError,
    RefundRequest,
    RetryableChannelError,
    ShipmentRequest,
    SubmissionOutcome,
)
from ..http import (
    DEFAULT_TIMEOUT,
    TokenCache,
    make_session,
    parse_json,
    raise_for_status,
    send,
)
from ..pacing import WALMART_LIMITS, Pacer
from ..ratelimit import retry_reads, walmart_retry_after, walmart_tokens_left
from .parser import parse_order, parse_return, read_order

logger = logging.getLogger("channels.walmart")
SERVICE_NAME = "Walmart Marketplace"
TOKEN_REFRESH_MARGIN = 60  # seconds before expiry
MAX_PAGE = 200
MAX_CANCEL_LINES = 100  # Walmart's order FAQ (seed 004): more lines go in several requests
HISTORY_DAYS = 180  # Walmart serves the last 180 days only
KNOWN_CARRIERS = {
    "UPS", "USPS", "FedEx", "Airborne", "OnTrac", "DHL Ecommerce - US", "DHL", "LS", "UDS", "UPSMI", "FDX",
    "PILOT", "ESTES", "SAIA", "FDS Express", "Seko Worldwide", "FEDEXSP", "RL Carriers", "China Post",
    "YunExpress", "GLS", "OSM Worldwide", "LSO", "Royal Mail", "Canada Post", "XPO Logistics", "Deutsche Post",
}
NOT_FOUND = "CONTENT_NOT_FOUND"


def _error_text(body: Any) -> tuple[str, str]:
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, dict):
        errors = errors.get("error")
    if isinstance(errors, list) and errors:
        first = errors[0]
        return str(first.get("code", "")), str(first.get("description") or first.get("message") or "")
    return "", ""


def _date_param(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _quantity(qty: int) -> dict:
    return {"unitOfMeasurement": "EACH", "amount": str(qty)}


def _money(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01")))


class WalmartClient:
    def __init__(
        self,
        *,
        base_url: str,
        client_id: str,
        client_secret: str,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self.timeout = timeout
        self.session = session or make_session()
        self.pacer = pacer or Pacer(account_key=f"walmart:{client_id}", limits=WALMART_LIMITS, label="Walmart")
        self._token = TokenCache(self._fetch_token, refresh_margin=TOKEN_REFRESH_MARGIN)

    def __repr__(self) -> str:  # never the secret
        return f"WalmartClient({self.base_url!r})"

    def close(self) -> None:
        self.session.close()

    # -- auth -------------------------------------------------------------------------------------
    def _fetch_token(self) -> tuple[str, int]:
        basic = base64.b64encode(f"{self._client_id}:{self._client_secret}".encode()).decode()
        self.pacer.before("token")
        response = send(
            self.session,
            "POST",
            f"{self.base_url}/v3/token",
            mutation=False,
            timeout=self.timeout,
            describe="Walmart token",
            headers={
                "Authorization": f"Basic {basic}",
                "WM_SVC.NAME": SERVICE_NAME,
                "WM_QOS.CORRELATION_ID": str(uuid.uuid4()),
                "Accept": "application/json",
                "Content-Type": "application/x-www-form-urlencoded",
            },
            data="grant_type=client_credentials",
        )
        self._raise_for_status(response, "token", mutation=False, describe="Walmart token")
        body = parse_json(response, mutation=False, describe="Walmart token")
        return body["access_token"], int(body.get("expires_in", 900))

    def _call(self, method: str, path: str, *, operation: str, describe: str, mutation: bool = False,
              json_body: Any = None, params: Any = None, not_found_is_empty: bool = False) -> Any:
        def call() -> Any:
            return self._call_once(method, path, operation=operation, describe=describe, mutation=mutation,
                                   json_body=json_body, params=params, not_found_is_empty=not_found_is_empty)

        return call() if mutation else retry_reads(call)

    def _call_once(self, method: str, path: str, *, operation: str, describe: str, mutation: bool, json_body: Any,
                   params: Any, not_found_is_empty: bool) -> Any:
        response = self._send(method, path, operation=operation, describe=describe, mutation=mutation,
                              json_body=json_body, params=params)
        if response.status_code == 401:
            # Expired or revoked token: fetch a new one and try once more (a 401 applied nothing).
            self._token.clear()
            response = self._send(method, path, operation=operation, describe=describe, mutation=mutation,
                                  json_body=json_body, params=params)
        if response.status_code == 404:
            code, message = _error_text(parse_json(response, mutation=False, describe=describe) or {})
            if not_found_is_empty and code.startswith(NOT_FOUND):
                return None
            raise OrderNotFound(f"{describe}: {message or 'not found'}", code=code, status=404)
        self._raise_for_status(response, operation, mutation=mutation, describe=describe)
        return parse_json(response, mutation=mutation, describe=describe)

    def _raise_for_status(self, response: requests.Response, operation: str, *, mutation: bool,
                          describe: str) -> None:
        """Pace by Walmart's token headers (X-Current-Token-Count, X-Next-Replenishment-Time), then map errors."""
        left = walmart_tokens_left(response)
        if left is not None:
            self.pacer.observe_tokens(operation, left=left, replenished_in=walmart_retry_after(response))
        wait = None
        if response.status_code == 429:
            wait = self.pacer.throttled(operation, retry_after=walmart_retry_after(response))
        raise_for_status(response, mutation=mutation, describe=describe, error_text=_error_text,
                         retry_after=lambda _response: wait)

    def _send(self, method: str, path: str, *, operation: str, describe: str, mutation: bool, json_body: Any,
              params: Any) -> requests.Response:
        self.pacer.before(operation)
        headers = {
            "WM_SEC.ACCESS_TOKEN": self._token.get(),
            "WM_SVC.NAME": SERVICE_NAME,
            "WM_QOS.CORRELATION_ID": str(uuid.uuid4()),
            "Accept": "application/json",
        }
        if json_body is not None:
            headers["Content-Type"] = "application/json"
        return send(self.session, method, f"{self.base_url}{path}", mutation=mutation, timeout=self.timeout,
                    describe=describe, headers=headers, json=json_body, params=params)

    # -- reads ------------------------------------------------------------------------------------
    def iter_order_pages(
        self,
        *,
        modified_since: dt.datetime | None = None,
        created_since: dt.datetime | None = None,
        created_until: dt.datetime | None = None,
        page_size: int = 100,
    ) -> Iterator[OrderPage]:
        earliest = dt.datetime.now(dt.UTC) - dt.timedelta(days=HISTORY_DAYS)
        params = {"limit": str(min(page_size, MAX_PAGE)),
                  "createdStartDate": _date_param(max(created_since or earliest, earliest))}
        if created_until:
            params["createdEndDate"] = _date_param(created_until)
        if modified_since:
            params["lastModifiedStartDate"] = _date_param(modified_since)
        for body in self._cursor_pages("/v3/orders", params, operation="orders", describe="Walmart orders"):
            data = body.get("list") or {}
            yield [read_order(order) for order in (data.get("elements") or {}).get("order") or []]

    def get_order(self, channel_order_id: str) -> ChannelOrder:
        body = self._call("GET", f"/v3/orders/{urllib.parse.quote(channel_order_id)}", operation="order",
                          describe="Walmart order")
        return parse_order(body["order"])

    def iter_returns(self, *, modified_since: dt.datetime | None = None,
                     page_size: int = MAX_PAGE) -> Iterator[list[ChannelReturn]]:
        params = {"limit": str(min(page_size, MAX_PAGE))}
        if modified_since:
            params["returnLastModifiedStartDate"] = _date_param(modified_since)
        for body in self._cursor_pages("/v3/returns", params, operation="returns", describe="Walmart returns"):
            yield [parse_return(item) for item in body.get("returnOrders") or []]

    def _cursor_pages(self, resource: str, params: dict[str, str], *, operation: str, describe: str) -> Iterator[dict]:
        """Pages of a list resource. meta.nextCursor (under "list" for orders) is a whole query string,
        sent back verbatim; an empty result is a 404 CONTENT_NOT_FOUND, which ends the listing."""
        path = f"{resource}?{urllib.parse.urlencode(params)}"
        while path:
            body = self._call("GET", path, operation=operation, describe=describe, not_found_is_empty=True)
            if not body:
                return
            yield body
            cursor = ((body.get("list") or body).get("meta") or {}).get("nextCursor")
            path = f"{resource}{cursor}" if cursor else ""

    def submission_outcome(self, reference: str) -> SubmissionOutcome:
        raise PermanentChannelError("Walmart applies changes at once; there is no submission to follow")

    # -- writes -----------------------------------------------------------------------------------
    def _post_order(self, channel_order_id: str, action: str, body: Any, describe: str,
                    reference: Callable[[dict], str] | None = None) -> ActionReceipt:
        """`reference`: what names the change in Walmart's answer (its order), when not the order id."""
        answer = self._call("POST", f"/v3/orders/{urllib.parse.quote(channel_order_id)}/{action}",
                            operation=action, describe=describe, mutation=True, json_body=body)
        raw = answer.get("order") if isinstance(answer, dict) else None
        order = parse_order(raw) if raw else None
        named = reference(raw) if raw and reference else ""
        return ActionReceipt(reference=named or channel_order_id, order=order)

    def acknowledge(self, channel_order_id: str) -> ActionReceipt:
        return self._post_order(channel_order_id, "acknowledge", {}, "Walmart acknowledge")

    def ship(self, channel_order_id: str, shipment: ShipmentRequest) -> ActionReceipt:
        if not shipment.tracking_number or not shipment.carrier:
            raise PermanentChannelError("Walmart requires a carrier and a tracking number for every shipment")
        carrier: dict[str, str] = (
            {"carrier": shipment.carrier} if shipment.carrier in KNOWN_CARRIERS else {"otherCarrier": shipment.carrier}
        )
        if "otherCarrier" in carrier and not shipment.tracking_url:
            raise PermanentChannelError(f"Walmart needs a tracking URL for carrier {shipment.carrier!r}")
        tracking = {
            "shipDateTime": int(shipment.shipped_at.timestamp() * 1000),
            "carrierName": carrier,
            "methodCode": shipment.method or "Standard",
            "trackingNumber": shipment.tracking_number,
        }
        if shipment.tracking_url:
            tracking["trackingURL"] = shipment.tracking_url
        status: dict[str, Any] = {"status": "Shipped", "trackingInfo": tracking}
        if shipment.is_update and shipment.current_tracking_number:
            # The package to change, by the tracking number Walmart has for it: without it Walmart cannot
            # tell which of a line's packages the update is for.
            status["currentTrackingInfo"] = {"trackingNumber": shipment.current_tracking_number}
        body: dict[str, Any] = {"orderShipment": {"orderLines": {"orderLine": [
            {
                "lineNumber": line.line_number,
                "sellerOrderId": (shipment.seller_order_id or channel_order_id)[:30],
                "intentToCancelOverride": shipment.override_cancel_request or shipment.is_update,
                "orderLineStatuses": {"orderLineStatus": [{**status, "statusQuantity": _quantity(line.qty)}]},
            }
            for line in shipment.lines
        ]}}}
        if shipment.is_update:
            body["orderShipment"]["processMode"] = "PARTIAL_UPDATE"
        return self._post_order(channel_order_id, "shipping", body, "Walmart shipping")

    def cancel(self, channel_order_id: str, cancellation: CancelRequest) -> ActionReceipt:
        if len(cancellation.lines) > MAX_CANCEL_LINES:
            raise PermanentChannelError(f"Walmart cancels at most {MAX_CANCEL_LINES} lines per request")
        body = {"orderCancellation": {"orderLines": {"orderLine": [
            {"lineNumber": line.line_number, "orderLineStatuses": {"orderLineStatus": [
                {"status": "Cancelled", "cancellationReason": cancellation.reason,
                 "statusQuantity": _quantity(line.qty)}
            ]}}
            for line in cancellation.lines
        ]}}}
        return self._post_order(channel_order_id, "cancel", body, "Walmart cancel")

    def refund(self, channel_order_id: str, refund: RefundRequest) -> ActionReceipt:
        if refund.return_order_id:
            return self._refund_return(refund)
        lines = []
        for line in refund.lines:
            charges = []
            if line.amount or line.tax:  # absent when the line refunds only shipping
                charges.append({"refundReason": refund.reason, "charge": {
                    "chargeType": "PRODUCT", "chargeName": "ItemPrice",
                    "chargeAmount": {"currency": "USD", "amount": -_money(line.amount)},
                    "tax": {"taxName": "Tax1", "taxAmount": {"currency": "USD", "amount": -_money(line.tax)}}}})
            if line.shipping:
                charges.append({"refundReason": refund.reason, "charge": {
                    "chargeType": "SHIPPING", "chargeName": "Shipping",
                    "chargeAmount": {"currency": "USD", "amount": -_money(line.shipping)}}})
            lines.append({"lineNumber": line.line_number, "isFullRefund": False, "refunds": {"refund": [
                {"refundComments": refund.comment or refund.reason, "refundCharges": {"refundCharge": charges}}]}})
        body = {"orderRefund": {"purchaseOrderId": channel_order_id, "orderLines": {"orderLine": lines}}}
        return self._post_order(channel_order_id, "refund", body, "Walmart refund",
                                reference=lambda order: _refund_ids(order, refund))

    def _refund_return(self, refund: RefundRequest) -> ActionReceipt:
        """Returned lines are refunded through the Returns API (CONTRACTS.md, Walmart §6)."""
        body = {"customerOrderId": refund.customer_order_id, "refundLines": [
            {"returnOrderLineNumber": line.return_line_number,
             "quantity": {"unitOfMeasure": "EA", "measurementValue": line.qty}}
            for line in refund.lines
        ]}
        self._call("POST", f"/v3/returns/{urllib.parse.quote(refund.return_order_id)}/refund",
                   operation="returnRefund", describe="Walmart return refund", mutation=True, json_body=body)
        return ActionReceipt(reference=refund.return_order_id)

    def found_applied(self, channel_order: ChannelOrder,
                      change: ShipmentRequest | CancelRequest | RefundRequest | None) -> ActionReceipt:
        """As the change's answer names it: a refund through a return by the return, another refund by
        the refundIds the order read back shows on its lines, anything else by the order."""
        if isinstance(change, RefundRequest) and change.return_order_id:
            return ActionReceipt(reference=change.return_order_id)
        named = _refund_ids(channel_order.raw, change) if isinstance(change, RefundRequest) else ""
        return ActionReceipt(reference=named or channel_order.channel_order_id, order=channel_order)


__all__ = ["RetryableChannelError", "WalmartClient"]


def _refund_ids(order: dict, refund: RefundRequest) -> str:
    """The refundId Walmart gave each line of the refund (OrderLine.refund.refundId in its order model), or ""."""
    line_numbers = {str(line.line_number) for line in refund.lines}
    lines = ((order.get("orderLines") or {}).get("orderLine")) or []
    ids = [str(line["refund"]["refundId"]) for line in lines if isinstance(line, dict)
           and str(line.get("lineNumber")) in line_numbers
           and isinstance(line.get("refund"), dict) and line["refund"].get("refundId")]
    return ", ".join(dict.fromkeys(ids))
