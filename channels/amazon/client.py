"""Amazon SP-API client (CONTRACTS.md, Amazon): LWA token, orders through a reader adapter,
confirmShipment, and cancels / refunds through XML feeds answered by processing reports."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
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
from ..pacing import AMAZON_LIMITS, Pacer
from ..ratelimit import amazon_rate, amazon_retry_after, retry_reads
from .feeds import (
    CANCEL_FEED,
    CONTENT_TYPE,
    REFUND_FEED,
    cancel_feed,
    refund_feed,
    report_errors,
)
from .reader import OrdersReader, OrdersV0Reader
from .reader_2026 import Orders2026Reader

logger = logging.getLogger("channels.amazon")
TOKEN_REFRESH_MARGIN = 120
RDT_PATH = "/tokens/2021-03-01/restrictedDataToken"
READERS = {"2026-01-01": Orders2026Reader, "v0": OrdersV0Reader}  # by the account's orders_api
CARRIER_CODES = {"UPS", "USPS", "FedEx", "DHL", "Amazon Shipping", "OnTrac"}


def _error_text(body: Any) -> tuple[str, str]:
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors:
        return str(errors[0].get("code", "")), str(errors[0].get("message", ""))
    if isinstance(body, dict) and body.get("error"):
        return str(body["error"]), str(body.get("error_description", ""))
    return "", ""


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class AmazonClient:
    def __init__(self, *, base_url: str, token_url: str, client_id: str, client_secret: str, refresh_token: str,
                 marketplace_id: str, merchant_id: str = "", orders_api: str = "2026-01-01",
                 timeout: tuple[float, float] = DEFAULT_TIMEOUT, session: requests.Session | None = None,
                 pacer: Pacer | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token_url = token_url
        self._client_id, self._client_secret, self._refresh_token = client_id, client_secret, refresh_token
        self.marketplace_id = marketplace_id
        self.merchant_id = merchant_id
        self.timeout = timeout
        self.session = session or make_session()
        self.pacer = pacer or Pacer(account_key=f"amazon:{client_id}", limits=AMAZON_LIMITS, label="Amazon")
        self._token = TokenCache(self._fetch_token, refresh_margin=TOKEN_REFRESH_MARGIN)
        self.reader: OrdersReader = READERS[orders_api](self._get, marketplace_id)
        self._restricted = TokenCache(self._fetch_restricted_data_token, refresh_margin=TOKEN_REFRESH_MARGIN)

    def __repr__(self) -> str:  # never the secrets
        return f"AmazonClient({self.base_url!r})"

    def close(self) -> None:
        self.session.close()

    # -- auth and transport -----------------------------------------------------------------------
    def _fetch_token(self) -> tuple[str, int]:
        response = send(self.session, "POST", self.token_url, mutation=False, timeout=self.timeout,
                        describe="Amazon LWA token",
                        headers={"Content-Type": "application/x-www-form-urlencoded;charset=UTF-8"},
                        data={"grant_type": "refresh_token", "refresh_token": self._refresh_token,
                              "client_id": self._client_id, "client_secret": self._client_secret})
        raise_for_status(response, mutation=False, describe="Amazon LWA token", error_text=_error_text,
                         retry_after=amazon_retry_after)
        body = parse_json(response, mutation=False, describe="Amazon LWA token")
        return body["access_token"], int(body.get("expires_in", 3600))

    def _fetch_restricted_data_token(self) -> tuple[str, int]:
        """One Restricted Data Token for every v0 read that returns buyer or address data (Tokens API
        2021-03-01, createRestrictedDataToken; generic paths cover every order). Orders 2026-01-01
        needs none: Amazon's "Access Orders PII" guide says its PII comes with the ordinary token."""
        body = {"restrictedResources": self.reader.restricted_resources}
        answer = parse_json(self._request("POST", RDT_PATH, operation="createRestrictedDataToken",
                                          describe="Amazon createRestrictedDataToken", json_body=body),
                            mutation=False, describe="Amazon createRestrictedDataToken")
        return answer["restrictedDataToken"], int(answer.get("expiresIn", 3600))

    def _request(self, method: str, path: str, *, operation: str, describe: str, mutation: bool = False,
                 json_body: Any = None, params: Any = None, restricted: bool = False) -> requests.Response:
        self.pacer.before(operation)
        token = self._restricted.get() if restricted else self._token.get()
        headers = {"x-amz-access-token": token, "x-amz-date": _iso(dt.datetime.now(dt.UTC)),
                   "user-agent": "channel-order-backoffice/1.0", "Accept": "application/json"}
        response = send(self.session, method, f"{self.base_url}{path}", mutation=mutation, timeout=self.timeout,
                        describe=describe, headers=headers, json=json_body, params=params)
        rate = amazon_rate(response)
        if rate is not None:
            self.pacer.observe_rate(operation, rate)
        if response.status_code == 403 and restricted:
            self._restricted.clear()  # expired or refused: the next read asks for a new one
        if response.status_code == 404:
            code, message = _error_text(parse_json(response, mutation=False, describe=describe) or {})
            raise OrderNotFound(f"{describe}: {message or 'not found'}", code=code, status=404)
        wait = None
        if response.status_code == 429:  # Amazon's 429 carries no rate header (its models): our bucket says
            wait = self.pacer.throttled(operation, retry_after=amazon_retry_after(response))
        raise_for_status(response, mutation=mutation, describe=describe, error_text=_error_text,
                         retry_after=lambda _response: wait)
        return response

    def _get(self, method: str, path: str, *, operation: str, describe: str, params: Any = None,
             restricted: bool = False) -> Any:
        def call() -> Any:
            response = self._request(method, path, operation=operation, describe=describe, params=params,
                                     restricted=restricted)
            return parse_json(response, mutation=False, describe=describe)

        return retry_reads(call)

    # -- reads ------------------------------------------------------------------------------------
    def iter_order_pages(self, *, modified_since: dt.datetime | None = None, created_since: dt.datetime | None = None,
                         created_until: dt.datetime | None = None, page_size: int = 100) -> Iterator[OrderPage]:
        if created_since:
            # Both Orders APIs want *Before at least two minutes before the request (their models).
            latest = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2, seconds=5)
            window = {"created_after": _iso(created_since),
                      "created_before": _iso(min(created_until, latest)) if created_until else None}
        else:
            window = {"updated_after": _iso(modified_since or dt.datetime.now(dt.UTC) - dt.timedelta(days=30))}
        yield from self.reader.iter_order_pages(page_size=min(page_size, 100), **window)

    def get_order(self, channel_order_id: str) -> ChannelOrder:
        return self.reader.get_order(channel_order_id)

    def iter_returns(self, *, modified_since: dt.datetime | None = None) -> Iterator[list[ChannelReturn]]:
        return iter(())  # Amazon returns are not imported (no RMA refunds through this client)

    # -- writes -----------------------------------------------------------------------------------
    def acknowledge(self, channel_order_id: str) -> ActionReceipt:
        raise PermanentChannelError("Amazon orders are not acknowledged")

    def ship(self, channel_order_id: str, shipment: ShipmentRequest) -> ActionReceipt:
        if not shipment.tracking_number or not shipment.carrier:
            raise PermanentChannelError("Amazon needs a carrier and a tracking number to confirm a shipment")
        known = shipment.carrier in CARRIER_CODES
        package = {
            "packageReferenceId": shipment.package_reference,
            "carrierCode": shipment.carrier if known else "Other",
            "carrierName": shipment.carrier,
            "shippingMethod": shipment.method or "Standard",
            "trackingNumber": shipment.tracking_number,
            "shipDate": shipment.shipped_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "orderItems": [{"orderItemId": line.line_number, "quantity": line.qty} for line in shipment.lines],
        }
        self._request("POST", f"/orders/v0/orders/{channel_order_id}/shipmentConfirmation", mutation=True,
                      operation="confirmShipment", describe="Amazon confirmShipment",
                      json_body={"marketplaceId": self.marketplace_id, "packageDetail": package})
        return ActionReceipt(reference=channel_order_id)

    def cancel(self, channel_order_id: str, cancellation: CancelRequest) -> ActionReceipt:
        feed_id = self._submit_feed(CANCEL_FEED, cancel_feed(merchant_id=self.merchant_id, order_id=channel_order_id,
                                                             cancellation=cancellation))
        return ActionReceipt(reference=feed_id, pending=True)

    def refund(self, channel_order_id: str, refund: RefundRequest) -> ActionReceipt:
        feed_id = self._submit_feed(REFUND_FEED, refund_feed(merchant_id=self.merchant_id, order_id=channel_order_id,
                                                             refund=refund,
                                                             adjustment_key=refund.idempotency_key or channel_order_id))
        return ActionReceipt(reference=feed_id, pending=True)

    def found_applied(self, channel_order: ChannelOrder,
                      change: ShipmentRequest | CancelRequest | RefundRequest | None) -> ActionReceipt:
        """A shipment confirmation is named by the order, as `ship`'s answer is. A cancel or refund is a
        feed, named by its feed id, which no read-back shows; those are submitted again rather than read
        back (the feed applies once), so only the order can name one here."""
        return ActionReceipt(reference=channel_order.channel_order_id, order=channel_order)

    def _submit_feed(self, feed_type: str, document: bytes) -> str:
        """createFeedDocument → upload → createFeed. Only the last step changes anything."""
        created = parse_json(self._request("POST", "/feeds/2021-06-30/documents", operation="createFeedDocument",
                                           describe="Amazon createFeedDocument", json_body={"contentType": CONTENT_TYPE}),
                             mutation=False, describe="Amazon createFeedDocument")
        upload = send(self.session, "PUT", created["url"], mutation=False, timeout=self.timeout,
                      describe="Amazon feed upload", data=document, headers={"Content-Type": CONTENT_TYPE})
        if upload.status_code >= 300:
            raise RetryableChannelError(f"Amazon feed upload: HTTP {upload.status_code}")
        feed = parse_json(self._request("POST", "/feeds/2021-06-30/feeds", mutation=True, operation="createFeed",
                                        describe="Amazon createFeed",
                                        json_body={"feedType": feed_type, "marketplaceIds": [self.marketplace_id],
                                                   "inputFeedDocumentId": created["feedDocumentId"]}),
                          mutation=True, describe="Amazon createFeed")
        return str(feed["feedId"])

    def submission_outcome(self, reference: str) -> SubmissionOutcome:
        feed = self._get("GET", f"/feeds/2021-06-30/feeds/{reference}", operation="getFeed", describe="Amazon getFeed")
        status = feed.get("processingStatus")
        if status in ("IN_QUEUE", "IN_PROGRESS"):
            return SubmissionOutcome(done=False)
        if status in ("FATAL", "CANCELLED") and not feed.get("resultFeedDocumentId"):
            return SubmissionOutcome(done=True, errors=(f"feed {reference} ended {status}",))
        document = self._get("GET", f"/feeds/2021-06-30/documents/{feed['resultFeedDocumentId']}",
                             operation="getFeedDocument", describe="Amazon getFeedDocument")
        report = send(self.session, "GET", document["url"], mutation=False, timeout=self.timeout,
                      describe="Amazon processing report")
        if report.status_code >= 300:
            raise RetryableChannelError(f"Amazon processing report: HTTP {report.status_code}")
        errors = report_errors(report.content)
        if status != "DONE" and not errors:
            errors = (f"feed {reference} ended {status}",)
        return SubmissionOutcome(done=True, errors=errors)
