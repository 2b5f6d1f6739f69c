"""Amazon SP-API in the sandbox: LWA token, Orders 2026-01-01 (searchOrders, getOrder), Orders v0
(getOrders, getOrder, getOrderItems with NextToken; buyer and address data only with a Restricted
Data Token from the Tokens API), confirmShipment, and the Feeds 2021-06-30 flow whose XML
(OrderAcknowledgement for cancels, OrderAdjustment for refunds) is applied asynchronously and
answered by a processing report. Every operation is throttled per caller at Amazon's published
default rate and burst (the usage plans of selling-partner-api-models) unless limits are off."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import secrets
import threading
import urllib.parse
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar

from .common import (
    ApiError,
    KeptBetweenRuns,
    RateLimits,
    Response,
    malform,
    money,
    utcnow,
)

MARKETPLACE_US = "ATVPDKIKX0DER"
UNPAID = {"Pending", "PendingAvailability"}
ORDER_STATUSES = {"PendingAvailability", "Pending", "Unshipped", "PartiallyShipped", "Shipped", "InvoiceUnconfirmed",
                  "Canceled", "Unfulfillable"}
CANCEL_REASONS = {"NoInventory", "ShippingAddressUndeliverable", "CustomerExchange", "BuyerCanceled",
                  "GeneralAdjustment", "CarrierCreditDecision", "RiskAssessmentInformationNotValid",
                  "CarrierCoverageFailure", "CustomerReturn", "MerchandiseNotReceived"}
ADJUSTMENT_REASONS = {"NoInventory", "CustomerReturn", "GeneralAdjustment", "CouldNotShip", "DifferentItem",
                      "Abandoned", "CustomerCancel", "PriceError", "ProductOutofStock", "CustomerAddressIncorrect",
                      "Exchange", "Other", "CarrierCreditDecision", "RiskAssessmentInformationNotValid",
                      "CarrierCoverageFailure", "TransactionRecord", "Undeliverable", "RefusedDelivery"}
COMPONENT_TYPES = {"Principal", "Shipping", "Tax", "ShippingTax", "RestockingFee", "RestockingFeeTax", "GiftWrap",
                   "GiftWrapTax", "Surcharge", "ReturnShipping", "Goodwill", "ExportCharge", "COD", "CODTax", "Other",
                   "FreeReplacementReturnShipping"}
# Default usage plans, (requests per second, burst), from the operation descriptions in
# selling-partner-api-models: orders_2026-01-01.json, ordersV0.json, feeds_2021-06-30.json, tokens_2021-03-01.json.
LIMITS = {
    "searchOrders": (0.0056, 20), "getOrder@2026-01-01": (0.5, 30), "getOrders": (0.0167, 20), "getOrder": (0.5, 30),
    "getOrderItems": (0.5, 30), "confirmShipment": (2.0, 10), "createFeedDocument": (0.5, 15),
    "createFeed": (0.0083, 15), "getFeed": (2.0, 15), "getFeedDocument": (0.0222, 10),
    "createRestrictedDataToken": (1.0, 10),
}
V2026 = "2026-01-01"
INCLUDED_DATA = {"BUYER", "RECIPIENT", "PROCEEDS", "EXPENSE", "PROMOTION", "CANCELLATION", "FULFILLMENT", "PACKAGES",
                 "TAX", "PAYMENT", "FULFILLMENT_ORDERS"}
STATUSES_2026 = {"PendingAvailability": "PENDING_AVAILABILITY", "Pending": "PENDING", "Unshipped": "UNSHIPPED",
                 "PartiallyShipped": "PARTIALLY_SHIPPED", "Shipped": "SHIPPED", "Canceled": "CANCELLED",
                 "Unfulfillable": "UNFULFILLABLE", "InvoiceUnconfirmed": "SHIPPED"}
# What a Restricted Data Token can be asked for on v0 (Tokens API use case guide), per resource path.
RESTRICTED_V0 = {"/orders/v0/orders": {"buyerInfo", "shippingAddress"},
                 "/orders/v0/orders/{orderId}": {"buyerInfo", "shippingAddress", "buyerTaxInformation"},
                 "/orders/v0/orders/{orderId}/orderItems": {"buyerInfo"}}
NAMES = ["Jane Doe", "Ravi Kumar", "Li Wei", "Sofia Rossi", "Ahmed Ali"]
SKUS = [("Example item", "AZ-000"), ("Travel Mug", "AZ-001"), ("USB-C Cable", "AZ-002"), ("Notebook", "AZ-003")]


class InvalidMessage(ValueError):
    """A feed message refused for several reasons (one per item): its report lists each as an error."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def error(status: int, code: str, message: str) -> ApiError:
    return ApiError(status, {"errors": [{"code": code, "message": message, "details": ""}]},
                    headers={"x-amzn-RequestId": str(uuid.uuid4())})


@dataclass
class Item:
    item_id: str
    asin: str
    sku: str
    title: str
    qty: int
    item_price: Decimal  # line total, as Amazon sends it
    item_tax: Decimal
    shipping: Decimal
    shipped: int = 0
    canceled: int = 0
    refunded: Decimal = Decimal(0)
    buyer_cancel: bool = False
    buyer_cancel_reason: str = ""


@dataclass
class AmazonOrder:
    seq: int
    order_id: str
    purchase_date: dt.datetime
    last_update: dt.datetime
    status: str
    items: list[Item]
    buyer: str
    adjustments: set[str] = field(default_factory=set)  # MerchantAdjustmentItemIDs applied
    # The packages confirmed, by packageReferenceId: {"trackingNumber", "carrierCode", "items": {item id: units}}.
    packages: dict[str, dict] = field(default_factory=dict)
    seller: str | None = None  # the client id whose account alone sees it (None: every account)

    def touch(self) -> None:
        self.last_update = utcnow()

    def item(self, item_id: str) -> Item | None:
        return next((item for item in self.items if item.item_id == item_id), None)

    def refresh_status(self) -> None:
        if self.status in ("Pending", "PendingAvailability"):
            return
        open_units = sum(i.qty - i.shipped - i.canceled for i in self.items)
        shipped = sum(i.shipped for i in self.items)
        if all(i.canceled == i.qty for i in self.items):
            self.status = "Canceled"
        elif open_units == 0:
            self.status = "Shipped"
        elif shipped:
            self.status = "PartiallyShipped"
        else:
            self.status = "Unshipped"


@dataclass
class RestrictedDataToken:
    caller: str
    expires: dt.datetime
    resources: list[tuple[str, str, frozenset[str]]]  # (method, path with or without {orderId}, dataElements)

    def grants(self, method: str, path: str) -> frozenset[str]:
        """The data elements this token unlocks for one request."""
        granted: set[str] = set()
        for allowed_method, allowed_path, elements in self.resources:
            pattern = "^" + re.escape(allowed_path).replace(re.escape("{orderId}"), "[^/]+") + "$"
            if allowed_method == method and re.match(pattern, path):
                granted |= elements
        return frozenset(granted) if self.expires > utcnow() else frozenset()


@dataclass
class Feed:
    feed_id: str
    feed_type: str
    document_id: str
    created: dt.datetime
    status: str = "IN_QUEUE"
    result_document_id: str = ""


class AmazonMarketplace(KeptBetweenRuns):
    # Made anew when loaded: the lock, the per-thread caller, the throttling buckets.
    TRANSIENT: ClassVar[dict[str, Any]] = {"lock": threading.RLock, "request": threading.local,
                                           "limits": lambda: RateLimits(LIMITS)}

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.orders: dict[str, AmazonOrder] = {}
        self.tokens: dict[str, dt.datetime] = {}
        self.token_owner: dict[str, str] = {}  # access token → caller (client id), whose usage plans it spends
        self.restricted: dict[str, RestrictedDataToken] = {}
        self.limits = RateLimits(LIMITS)
        self.request = threading.local()  # .caller: the client id of the API call this thread serves
        self.documents: dict[str, dict[str, Any]] = {}  # id → {"content": bytes | None, "content_type": str}
        self.feeds: dict[str, Feed] = {}
        self.credentials: dict[str, str] = {}  # client id → secret; empty accepts any
        self.processing_delay = 0.0  # seconds before a feed is processed
        self.page_size_cap = 100
        self._seq = itertools.count(1)
        self._feed = itertools.count(3485934)
        self.base_url = ""  # set by the server, for pre-signed document URLs
        # (order id, API) → how it is sent broken: v0 paths under "order." (getOrders) and "items."
        # (getOrderItems); 2026-01-01 paths under "order." (the order with its orderItems)
        self.malformations: dict[tuple[str, str], tuple[dict[str, Any], list[str]]] = {}

    # -- control ----------------------------------------------------------------------------------
    def create_orders(self, *, count: int = 1, items: int = 1, qty: int = 1, paid: bool = True,
                      buyer_cancel: bool = False, purchase_date: dt.datetime | None = None,
                      price: str | None = None, seller: str | None = None,
                      products: list[tuple[str, str, str]] | None = None) -> list[str]:
        """`products` (sku, title, unit price), when given, are the items: one item per product."""
        created = []
        with self.lock:
            for _ in range(count):
                seq = next(self._seq)
                order_id = f"902-{3159896 + seq:07d}-{1390916 + seq:07d}"
                lines = []
                for index in range(len(products) if products else items):
                    title, sku = SKUS[(seq + index) % len(SKUS)]
                    unit = money(price) if price else money(12 + seq % 30)
                    if products:
                        sku, title, unit = products[index][0], products[index][1], money(products[index][2])
                    lines.append(Item(item_id=f"{68828574383266 + seq * 100 + index}", asin=f"B0{seq:08d}",
                                      sku=sku, title=title, qty=qty, item_price=unit * qty,
                                      item_tax=money(unit * qty * Decimal("0.08")), shipping=money("1.26"),
                                      buyer_cancel=buyer_cancel,
                                      buyer_cancel_reason="Found cheaper somewhere else." if buyer_cancel else ""))
                when = purchase_date or utcnow()
                self.orders[order_id] = AmazonOrder(seq, order_id, when, utcnow(), "Unshipped" if paid else "Pending",
                                                    lines, NAMES[seq % len(NAMES)], seller=seller)
                created.append(order_id)
        return created

    def malform(self, order_id: str, *, set: dict[str, Any] | None = None, delete: list[str] | None = None,
                api: str = "v0") -> None:
        """From now on the order is listed malformed by that API (see common.malform); modifies it."""
        with self.lock:
            self._get(order_id).touch()
            self.malformations[(order_id, api)] = (dict(set or {}), list(delete or []))

    def mend(self, order_id: str) -> None:
        with self.lock:
            for key in [key for key in self.malformations if key[0] == order_id]:
                del self.malformations[key]
            self._get(order_id).touch()

    def as_sent(self, order: AmazonOrder, *, pii: frozenset[str] = frozenset()) -> dict[str, Any]:
        """The order and its items as v0 sends them, malformed when a test asked for it."""
        sent = {"order": self.render(order, pii=pii), "items": [self.render_item(i, order) for i in order.items]}
        if (order.order_id, "v0") in self.malformations:
            return malform(sent, *self.malformations[(order.order_id, "v0")])
        return sent

    def as_sent_2026(self, order: AmazonOrder, included: set[str]) -> dict[str, Any]:
        sent = {"order": self.render_2026(order, included)}
        if (order.order_id, V2026) in self.malformations:
            sent = malform(sent, *self.malformations[(order.order_id, V2026)])
        return sent["order"] if isinstance(sent, dict) and "order" in sent else sent

    def pay(self, order_id: str) -> None:
        with self.lock:
            order = self._get(order_id)
            order.status = "Unshipped"
            order.touch()

    def channel_cancel(self, order_id: str) -> None:
        with self.lock:
            order = self._get(order_id)
            for item in order.items:
                item.canceled = item.qty - item.shipped
            order.status = "Canceled" if order.status in ("Pending", "PendingAvailability") else order.status
            order.refresh_status()
            order.touch()

    def channel_ship(self, order_id: str, *, item_ids: list[str] | None = None, when: dt.datetime | None = None) -> None:
        """The seller shipped on Seller Central (every item, or those named), now or `when`."""
        with self.lock:
            order = self._get(order_id)
            for item in order.items:
                if item_ids is None or item.item_id in item_ids:
                    item.shipped = item.qty - item.canceled
            order.refresh_status()
            order.touch()
            order.last_update = when or order.last_update

    def request_cancellation(self, order_id: str, *, reason: str = "Found cheaper somewhere else.") -> None:
        with self.lock:
            order = self._get(order_id)
            for item in order.items:
                item.buyer_cancel, item.buyer_cancel_reason = True, reason
            order.touch()

    def process_feeds(self) -> None:
        """Process every queued feed now (tests; the API does it on its own after processing_delay)."""
        with self.lock:
            for feed in self.feeds.values():
                if feed.status != "DONE":
                    self._process(feed)

    def visible(self, order: AmazonOrder) -> bool:
        caller = getattr(self.request, "caller", None)
        return order.seller is None or caller is None or order.seller == caller

    def _get(self, order_id: str) -> AmazonOrder:
        order = self.orders.get(order_id)
        if order is None or not self.visible(order):
            raise error(404, "NotFound", f"Order {order_id} not found")
        return order

    # -- API --------------------------------------------------------------------------------------
    @staticmethod
    def operation(method: str, parts: list[str]) -> str:
        """The operation (usage plan, LIMITS) a request belongs to."""
        if parts[:2] == ["orders", V2026]:
            return "searchOrders" if len(parts) == 3 else "getOrder@2026-01-01"
        if parts[:2] == ["orders", "v0"]:
            if parts[-1] == "shipmentConfirmation":
                return "confirmShipment"
            return {3: "getOrders", 4: "getOrder"}.get(len(parts), "getOrderItems")
        if parts[:2] == ["feeds", "2021-06-30"]:
            return {("POST", "documents"): "createFeedDocument", ("POST", "feeds"): "createFeed",
                    ("GET", "feeds"): "getFeed", ("GET", "documents"): "getFeedDocument"}.get((method, parts[2]), "")
        if parts[:2] == ["tokens", "2021-03-01"]:
            return "createRestrictedDataToken"
        return ""

    def handle(self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], body: Any) -> Response:
        parts = [part for part in path.split("/") if part]
        if parts == ["auth", "o2", "token"] and method == "POST":
            return self.token(body)
        if parts[:2] == ["_feeds", "upload"] and method == "PUT":
            return self.upload(parts[2], headers, body)
        if parts[:2] == ["_feeds", "download"] and method == "GET":
            return self.download(parts[2])
        caller, pii = self.authenticate(headers, method, path)
        self.request.caller = caller
        operation = self.operation(method, parts)
        allowed, _left, _wait = self.limits.take(caller, operation)
        if not allowed:  # the models: a 429 carries x-amzn-RequestId only, no rate header
            raise error(429, "QuotaExceeded", "You exceeded your quota for the requested resource.")
        with self.lock:
            if parts[:2] == ["orders", V2026]:
                response = self._orders_2026(method, parts[2:], query)
            elif parts[:2] == ["orders", "v0"]:
                response = self._orders_api(method, parts[2:], query, body, pii)
            elif parts[:2] == ["feeds", "2021-06-30"]:
                response = self._feeds_api(method, parts[2:], body)
            elif parts == ["tokens", "2021-03-01", "restrictedDataToken"] and method == "POST":
                response = self.create_restricted_data_token(caller, body or {})
            else:
                raise error(404, "NotFound", f"No such resource: {method} {path}")
        if operation in self.limits.limits:
            response.headers.update(self.rate(operation))
        return response

    def create_restricted_data_token(self, caller: str, body: dict) -> Response:
        resources = body.get("restrictedResources")
        if not isinstance(resources, list) or not 1 <= len(resources) <= 50:
            raise error(400, "InvalidInput", "restrictedResources must list 1 to 50 resources")
        granted = []
        for resource in resources:
            method, path = resource.get("method"), str(resource.get("path", ""))
            generic = re.sub(r"^/orders/v0/orders/[^/{]+", "/orders/v0/orders/{orderId}", path)
            elements = set(resource.get("dataElements") or [])
            if method != "GET" or generic not in RESTRICTED_V0:
                raise error(400, "InvalidInput", f"{method} {path} is not a restricted resource")
            if not elements or not elements <= RESTRICTED_V0[generic]:
                raise error(400, "InvalidInput", f"dataElements for {path} must be among "
                                                 f"{', '.join(sorted(RESTRICTED_V0[generic]))}")
            granted.append((method, path, frozenset(elements)))
        token = "Atz.sprdt|" + secrets.token_urlsafe(24)
        self.restricted[token] = RestrictedDataToken(caller, utcnow() + dt.timedelta(hours=1), granted)
        return Response(body={"restrictedDataToken": token, "expiresIn": 3600})

    def token(self, body: Any) -> Response:
        form = {k: v[-1] for k, v in urllib.parse.parse_qs(body if isinstance(body, str) else "").items()}
        if form.get("grant_type") != "refresh_token" or not form.get("refresh_token"):
            raise ApiError(400, {"error": "invalid_request", "error_description": "refresh_token grant expected"})
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        known = self.credentials.get(client_id) if self.credentials else secret
        if not client_id or not secret or known != secret:
            raise ApiError(401, {"error": "invalid_client", "error_description": "Client authentication failed"})
        token = "Atza|" + secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[token] = utcnow() + dt.timedelta(hours=1)
            self.token_owner[token] = client_id
        return Response(body={"access_token": token, "token_type": "bearer", "expires_in": 3600,
                              "refresh_token": form["refresh_token"]})

    def authenticate(self, headers: dict[str, str], method: str, path: str) -> tuple[str, frozenset[str]]:
        """The caller, and the personal data elements the token unlocks for this request: an access
        token unlocks none, a Restricted Data Token the ones it was granted for this resource."""
        token = headers.get("x-amz-access-token", "")
        restricted = self.restricted.get(token)
        if restricted is not None and restricted.expires > utcnow():
            granted = restricted.grants(method, path)
            if not granted:
                raise error(403, "Unauthorized", "Access to requested resource is denied.")
            return restricted.caller, granted
        expiry = self.tokens.get(token)
        if expiry is None or expiry < utcnow():
            raise error(403, "Unauthorized", "Access to requested resource is denied.")
        return self.token_owner.get(token, ""), frozenset()

    def rate(self, operation: str) -> dict[str, str]:
        """The usage plan's rate granted to this caller (a test may grant another than the default)."""
        return {"x-amzn-RateLimit-Limit": f"{self.limits.limits[operation][0]:g}", "x-amzn-RequestId": str(uuid.uuid4())}

    def _orders_api(self, method: str, parts: list[str], query: dict[str, list[str]], body: Any,
                    pii: frozenset[str]) -> Response:
        params = {key: values[-1] for key, values in query.items()}
        if parts == ["orders"] and method == "GET":
            return self.get_orders(params, pii)
        if len(parts) == 2 and parts[0] == "orders" and method == "GET":
            return Response(body={"payload": self.as_sent(self._get(parts[1]), pii=pii)["order"]})
        if len(parts) == 3 and parts[2] == "orderItems" and method == "GET":
            return self.get_items(self._get(parts[1]), params)
        if len(parts) == 3 and parts[2] == "shipmentConfirmation" and method == "POST":
            return self.confirm_shipment(self._get(parts[1]), body or {})
        raise error(404, "NotFound", "No such resource")

    # -- Orders 2026-01-01 ------------------------------------------------------------------------
    def _orders_2026(self, method: str, parts: list[str], query: dict[str, list[str]]) -> Response:
        params = {key: ",".join(values) for key, values in query.items()}
        included = set(filter(None, params.get("includedData", "").split(",")))
        if included - INCLUDED_DATA:
            raise error(400, "InvalidInput", f"includedData {', '.join(sorted(included - INCLUDED_DATA))} is not valid")
        if parts == ["orders"] and method == "GET":
            return self.search_orders(params, included)
        if len(parts) == 2 and parts[0] == "orders" and method == "GET":
            return Response(body={"order": self.as_sent_2026(self._get(parts[1]), included)})
        raise error(404, "NotFound", "No such resource")

    def search_orders(self, params: dict[str, str], included: set[str]) -> Response:
        params = with_page_state(params, "paginationToken")
        created, updated = ("createdAfter" in params or "createdBefore" in params), (
            "lastUpdatedAfter" in params or "lastUpdatedBefore" in params)
        if bool(params.get("createdAfter")) == bool(params.get("lastUpdatedAfter")) or (created and updated):
            raise error(400, "InvalidInput", "Exactly one of createdAfter and lastUpdatedAfter is required, "
                                             "and the created and lastUpdated filters cannot be combined")
        latest = utcnow() - dt.timedelta(minutes=2)
        for name in ("createdBefore", "lastUpdatedBefore"):
            if params.get(name) and parse_iso(params[name]) > latest:
                raise error(400, "InvalidInput", f"{name} must be at least two minutes before the time of the request")
        size = int(params.get("maxResultsPerPage", 100))
        if not 1 <= size <= self.page_size_cap:
            raise error(400, "InvalidInput", "maxResultsPerPage must be between 1 and 100")
        marketplaces = set(filter(None, params.get("marketplaceIds", "").split(",")))
        after_seq = int(params.get("after", 0))
        bounds = {name: parse_iso(params[name]) for name in ("createdAfter", "createdBefore", "lastUpdatedAfter",
                                                             "lastUpdatedBefore") if params.get(name)}

        def matches(order: AmazonOrder) -> bool:
            return (order.purchase_date >= bounds.get("createdAfter", order.purchase_date)
                    and order.purchase_date <= bounds.get("createdBefore", order.purchase_date)
                    and order.last_update >= bounds.get("lastUpdatedAfter", order.last_update)
                    and order.last_update <= bounds.get("lastUpdatedBefore", order.last_update)
                    and (not marketplaces or MARKETPLACE_US in marketplaces))

        matching = [o for o in sorted(self.orders.values(), key=lambda o: o.seq) if matches(o) and self.visible(o)]
        page = [o for o in matching if o.seq > after_seq][:size]
        answer: dict[str, Any] = {"orders": [self.as_sent_2026(o, included) for o in page]}
        if page and any(o.seq > page[-1].seq for o in matching):
            state = {k: v for k, v in params.items() if k not in ("paginationToken", "after")}
            answer["pagination"] = {"nextToken": urllib.parse.quote(urllib.parse.urlencode(
                {**state, "after": page[-1].seq}))}
        answer["createdBefore" if "createdAfter" in bounds else "lastUpdatedBefore"] = iso(
            bounds.get("createdBefore") or bounds.get("lastUpdatedBefore") or latest)
        return Response(body=answer)

    def render_2026(self, order: AmazonOrder, included: set[str]) -> dict:
        """An order as Orders 2026-01-01 sends it: the datasets asked for in includedData; buyer and
        recipient personal data need no RDT there. Pending orders come without proceeds."""
        paid = order.status not in UNPAID
        rendered: dict[str, Any] = {
            "orderId": order.order_id, "createdTime": iso(order.purchase_date), "lastUpdatedTime": iso(order.last_update),
            "programs": [], "salesChannel": {"channelName": "AMAZON", "marketplaceId": MARKETPLACE_US,
                                             "marketplaceName": "Amazon.com"},
        }
        if "BUYER" in included:
            rendered["buyer"] = {"buyerName": order.buyer, "buyerEmail": f"{order.seq}buyer@marketplace.amazon.com"}
        if "RECIPIENT" in included and paid:
            rendered["recipient"] = {"deliveryAddress": {
                "name": order.buyer, "addressLine1": "1 Main St", "city": "Canton", "stateOrRegion": "MI",
                "postalCode": "48817", "countryCode": "US", "phone": "555-0100", "addressType": "RESIDENTIAL"}}
        if "PROCEEDS" in included and paid:
            total = sum((i.item_price + i.item_tax + i.shipping for i in order.items), Decimal(0))
            rendered["proceeds"] = {"grandTotal": {"amount": str(money(total)), "currencyCode": "USD"}}
        if "FULFILLMENT" in included:
            rendered["fulfillment"] = {
                "fulfillmentStatus": STATUSES_2026[order.status], "fulfilledBy": "MERCHANT",
                "fulfillmentServiceLevel": "STANDARD",
                "shipByWindow": {"earliestDateTime": iso(order.purchase_date),
                                 "latestDateTime": iso(order.purchase_date + dt.timedelta(days=3))}}
        items = []
        for item in order.items:
            rendered_item: dict[str, Any] = {
                "orderItemId": item.item_id, "quantityOrdered": item.qty,
                "product": {"asin": item.asin, "title": item.title, "sellerSku": item.sku,
                            "price": {"unitPrice": {"amount": str(money(item.item_price / item.qty)),
                                                    "currencyCode": "USD"}} if paid else {}},
            }
            if "PROCEEDS" in included and paid:
                rendered_item["proceeds"] = {
                    "proceedsTotal": {"amount": str(money(item.item_price + item.item_tax + item.shipping)),
                                      "currencyCode": "USD"},
                    "breakdowns": [{"type": kind, "subtotal": {"amount": str(value), "currencyCode": "USD"}}
                                   for kind, value in (("ITEM", item.item_price), ("SHIPPING", item.shipping),
                                                       ("TAX", item.item_tax))]}
            if "CANCELLATION" in included and item.buyer_cancel:
                rendered_item["cancellation"] = {"cancellationRequest": {"requester": "BUYER",
                                                                         "cancelReason": item.buyer_cancel_reason}}
            if "FULFILLMENT" in included:
                rendered_item["fulfillment"] = {"quantityFulfilled": item.shipped,
                                                "quantityUnfulfilled": item.qty - item.shipped - item.canceled}
            items.append(rendered_item)
        rendered["orderItems"] = items
        return rendered

    def get_orders(self, params: dict[str, str], pii: frozenset[str]) -> Response:
        params = with_page_state(params, "NextToken")
        if not params.get("MarketplaceIds"):
            raise error(400, "InvalidInput", "MarketplaceIds is required")
        created_after, updated_after = params.get("CreatedAfter"), params.get("LastUpdatedAfter")
        if not created_after and not updated_after:
            raise error(400, "InvalidInput", "Either CreatedAfter or LastUpdatedAfter is required")
        if created_after and updated_after:
            raise error(400, "InvalidInput", "CreatedAfter and LastUpdatedAfter cannot be combined")
        size = int(params.get("MaxResultsPerPage", 100))
        if not 1 <= size <= self.page_size_cap:
            raise error(400, "InvalidInput", "MaxResultsPerPage must be between 1 and 100")
        statuses = set(filter(None, params.get("OrderStatuses", "").split(",")))
        after_seq = int(params.get("after", 0))

        def matches(order: AmazonOrder) -> bool:
            if created_after and order.purchase_date < parse_iso(created_after):
                return False
            if params.get("CreatedBefore") and order.purchase_date > parse_iso(params["CreatedBefore"]):
                return False
            if updated_after and order.last_update < parse_iso(updated_after):
                return False
            return not statuses or order.status in statuses

        matching = [o for o in sorted(self.orders.values(), key=lambda o: o.seq) if matches(o) and self.visible(o)]
        page = [o for o in matching if o.seq > after_seq][:size]
        payload: dict[str, Any] = {"Orders": [self.as_sent(o, pii=pii)["order"] for o in page]}
        if page and any(o.seq > page[-1].seq for o in matching):
            state = {k: v for k, v in params.items() if k not in ("NextToken", "after")}
            payload["NextToken"] = urllib.parse.quote(urllib.parse.urlencode({**state, "after": page[-1].seq}))
        return Response(body={"payload": payload})

    def get_items(self, order: AmazonOrder, params: dict[str, str]) -> Response:
        start = int(params.get("NextToken") or 0)
        items = self.as_sent(order)["items"]
        if not isinstance(items, list):
            return Response(body={"payload": {"AmazonOrderId": order.order_id, "OrderItems": items}})
        page = items[start:start + 30]
        payload: dict[str, Any] = {"AmazonOrderId": order.order_id, "OrderItems": page}
        if start + 30 < len(items):
            payload["NextToken"] = str(start + 30)
        return Response(body={"payload": payload})

    def confirm_shipment(self, order: AmazonOrder, body: dict) -> Response:
        if body.get("marketplaceId") != MARKETPLACE_US:
            raise error(400, "InvalidInput", "marketplaceId is required")
        package = body.get("packageDetail") or {}
        for name in ("packageReferenceId", "carrierCode", "trackingNumber", "shipDate", "orderItems"):
            if not package.get(name):
                raise error(400, "InvalidInput", f"packageDetail.{name} is required")
        if not str(package["packageReferenceId"]).isdigit() or int(package["packageReferenceId"]) <= 0:
            raise error(400, "InvalidInput", "packageReferenceId must be a positive number")
        if package["carrierCode"] == "Other" and not package.get("carrierName"):
            raise error(400, "InvalidInput", "carrierName is required when carrierCode is Other")
        try:
            dt.datetime.fromisoformat(str(package["shipDate"]))
        except ValueError:
            raise error(400, "InvalidInput", "Invalid Input") from None
        if order.status in ("Pending", "PendingAvailability", "Canceled"):
            raise error(400, "InvalidInput", f"Order {order.order_id} is {order.status} and cannot be shipped")
        requested = [(order.item(str(e.get("orderItemId"))), int(e.get("quantity") or 0)) for e in package["orderItems"]]
        reference = str(package["packageReferenceId"])
        known = order.packages.get(reference)
        # A package confirmed again under its packageReferenceId is edited (its tracking), never
        # shipped twice; any other package ships open units.
        for (item, qty), entry in zip(requested, package["orderItems"]):
            most = known["items"].get(item.item_id, 0) if known and item else (
                item.qty - item.shipped - item.canceled if item else 0)
            if item is None or qty <= 0 or qty > most:
                raise error(400, "InvalidInput", f"Invalid quantity for order item {entry.get('orderItemId')}")
        if known is None:
            for item, qty in requested:
                item.shipped += qty
            known = order.packages[reference] = {"items": {item.item_id: qty for item, qty in requested}}
        known.update(trackingNumber=package["trackingNumber"], carrierCode=package["carrierCode"])
        order.refresh_status()
        order.touch()
        return Response(status=204)

    # -- feeds ------------------------------------------------------------------------------------
    def _feeds_api(self, method: str, parts: list[str], body: Any) -> Response:
        if parts == ["documents"] and method == "POST":
            content_type = (body or {}).get("contentType", "")
            if not content_type.startswith("text/xml"):
                raise error(400, "InvalidInput", "contentType must be text/xml for order feeds")
            doc_id = str(uuid.uuid4())
            self.documents[doc_id] = {"content": None, "content_type": content_type}
            return Response(status=201, body={"feedDocumentId": doc_id,
                                              "url": f"{self.base_url}/_feeds/upload/{doc_id}"})
        if parts == ["feeds"] and method == "POST":
            body = body or {}
            doc = self.documents.get(body.get("inputFeedDocumentId", ""))
            if body.get("feedType") not in ("POST_ORDER_ACKNOWLEDGEMENT_DATA", "POST_PAYMENT_ADJUSTMENT_DATA"):
                raise error(400, "InvalidInput", "Unsupported feedType")
            if not body.get("marketplaceIds"):
                raise error(400, "InvalidInput", "marketplaceIds is required")
            if doc is None or doc["content"] is None:
                raise error(400, "InvalidInput", "inputFeedDocumentId is unknown or was not uploaded")
            feed = Feed(str(next(self._feed)), body["feedType"], body["inputFeedDocumentId"], utcnow())
            self.feeds[feed.feed_id] = feed
            return Response(status=202, body={"feedId": feed.feed_id})
        if len(parts) == 2 and parts[0] == "feeds" and method == "GET":
            feed = self.feeds.get(parts[1])
            if feed is None:
                raise error(404, "NotFound", f"Feed {parts[1]} not found")
            if feed.status != "DONE" and utcnow() >= feed.created + dt.timedelta(seconds=self.processing_delay):
                self._process(feed)
            elif feed.status == "IN_QUEUE":
                feed.status = "IN_PROGRESS"
            answer = {"feedId": feed.feed_id, "feedType": feed.feed_type, "marketplaceIds": [MARKETPLACE_US],
                      "createdTime": feed.created.isoformat(), "processingStatus": feed.status}
            if feed.result_document_id:
                answer["resultFeedDocumentId"] = feed.result_document_id
            return Response(body=answer)
        if len(parts) == 2 and parts[0] == "documents" and method == "GET":
            if parts[1] not in self.documents:
                raise error(404, "NotFound", "Document not found")
            return Response(body={"feedDocumentId": parts[1], "url": f"{self.base_url}/_feeds/download/{parts[1]}"})
        raise error(404, "NotFound", "No such resource")

    def upload(self, doc_id: str, headers: dict[str, str], body: Any) -> Response:
        with self.lock:
            doc = self.documents.get(doc_id)
            if doc is None:
                raise ApiError(403, {"error": "the upload URL is not valid"})
            if headers.get("Content-Type") != doc["content_type"]:
                raise ApiError(403, {"error": "Content-Type differs from the one the document was created with"})
            doc["content"] = body.encode() if isinstance(body, str) else (body or b"")
        return Response(status=200)

    def download(self, doc_id: str) -> Response:
        with self.lock:
            doc = self.documents.get(doc_id)
            if doc is None or doc["content"] is None:
                raise ApiError(404, {"error": "no such document"})
            return Response(body=doc["content"], content_type=doc["content_type"])

    def _process(self, feed: Feed) -> None:
        """Apply the feed's messages; each valid message succeeds or fails on its own."""
        results, processed, failed = [], 0, 0
        try:
            root = ET.fromstring(self.documents[feed.document_id]["content"])
            messages = root.findall("Message")
        except ET.ParseError as bad:
            messages, results = [], [("1", "Error", "5000", f"XML Parsing Error: {bad}")]
            failed = 1
        for message in messages:
            processed += 1
            message_id = message.findtext("MessageID", "")
            try:
                if feed.feed_type == "POST_ORDER_ACKNOWLEDGEMENT_DATA":
                    self._apply_acknowledgement(message.find("OrderAcknowledgement"))
                else:
                    self._apply_adjustment(message.find("OrderAdjustment"))
            except ValueError as invalid:
                failed += 1
                problems = invalid.problems if isinstance(invalid, InvalidMessage) else [str(invalid)]
                results += [(message_id, "Error", "25", problem) for problem in problems]
        feed.status = "DONE"
        report = self._report(feed, processed, failed, results)
        doc_id = str(uuid.uuid4())
        self.documents[doc_id] = {"content": report, "content_type": "text/xml; charset=UTF-8"}
        feed.result_document_id = doc_id

    def _apply_acknowledgement(self, element: ET.Element | None) -> None:
        if element is None:
            raise ValueError("OrderAcknowledgement is missing")
        order = self.orders.get(element.findtext("AmazonOrderID", ""))
        if order is None:
            raise ValueError("AmazonOrderID is unknown")
        if element.findtext("StatusCode") != "Failure":
            return  # Success acknowledges; nothing to cancel
        items = element.findall("Item")
        targets = []
        for node in items:
            item = order.item(node.findtext("AmazonOrderItemCode", ""))
            reason = node.findtext("CancelReason", "")
            if item is None:
                raise ValueError("AmazonOrderItemCode is unknown")
            if reason not in CANCEL_REASONS:
                raise ValueError(f"CancelReason {reason!r} is not valid")
            targets.append(item)
        for item in targets or order.items:  # no Item: the whole order
            if item.shipped and item.shipped + item.canceled == item.qty:
                raise ValueError(f"Order item {item.item_id} has shipped and cannot be canceled")
        for item in targets or order.items:
            item.canceled = item.qty - item.shipped
        order.refresh_status()
        order.touch()

    def _apply_adjustment(self, element: ET.Element | None) -> None:
        if element is None:
            raise ValueError("OrderAdjustment is missing")
        order = self.orders.get(element.findtext("AmazonOrderID", ""))
        if order is None:
            raise ValueError("AmazonOrderID is unknown")
        plan, problems = [], []
        for adjusted in element.findall("AdjustedItem"):  # each item refused is an error of its own
            try:
                planned = self._adjusted_item(order, adjusted)
                if planned:
                    plan.append(planned)
            except ValueError as invalid:
                problems.append(str(invalid))
        if problems:
            raise InvalidMessage(problems)  # nothing of the message is applied
        for item, total, key in plan:
            item.refunded += total
            if key:
                order.adjustments.add(key)
        order.touch()

    @staticmethod
    def _adjusted_item(order: AmazonOrder, adjusted: ET.Element) -> tuple[Item, Decimal, str] | None:
        """The item, amount and key an AdjustedItem applies; None for one applied already under its key
        (sent twice, it is applied once, and not judged again against what it left)."""
        item = order.item(adjusted.findtext("AmazonOrderItemCode", ""))
        if item is None:
            raise ValueError("AmazonOrderItemCode is unknown")
        reason = adjusted.findtext("AdjustmentReason", "")
        if reason not in ADJUSTMENT_REASONS:
            raise ValueError(f"AdjustmentReason {reason!r} is not valid")
        key = adjusted.findtext("MerchantAdjustmentItemID", "")
        if key and key in order.adjustments:
            return None
        total = Decimal(0)
        for component in adjusted.findall("ItemPriceAdjustments/Component"):
            kind = component.findtext("Type", "")
            amount = Decimal(component.findtext("Amount", "0"))
            if kind not in COMPONENT_TYPES or amount < 0:
                raise ValueError(f"Component {kind!r} {amount} is not valid")
            total += amount
        if total > item.item_price + item.item_tax + item.shipping - item.refunded:
            raise ValueError(f"Adjustment for {item.item_id} exceeds what was charged")
        return item, total, key

    @staticmethod
    def _report(feed: Feed, processed: int, failed: int, results: list[tuple[str, str, str, str]]) -> bytes:
        rows = "".join(
            f"<Result><MessageID>{mid}</MessageID><ResultCode>{code}</ResultCode><ResultMessageCode>{num}"
            f"</ResultMessageCode><ResultDescription>{desc}</ResultDescription></Result>"
            for mid, code, num, desc in results
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?><AmazonEnvelope><Header><DocumentVersion>1.02</DocumentVersion>'
            "<MerchantIdentifier>SELLER</MerchantIdentifier></Header><MessageType>ProcessingReport</MessageType>"
            f"<Message><MessageID>1</MessageID><ProcessingReport><DocumentTransactionID>{feed.feed_id}"
            "</DocumentTransactionID><StatusCode>Complete</StatusCode><ProcessingSummary>"
            f"<MessagesProcessed>{processed}</MessagesProcessed><MessagesSuccessful>{processed - failed}"
            f"</MessagesSuccessful><MessagesWithError>{failed}</MessagesWithError><MessagesWithWarning>0"
            f"</MessagesWithWarning></ProcessingSummary>{rows}</ProcessingReport></Message></AmazonEnvelope>"
        ).encode()

    # -- rendering --------------------------------------------------------------------------------
    def render(self, order: AmazonOrder, *, pii: frozenset[str] = frozenset()) -> dict:
        """Pending orders come without their total and address, as from the real Orders API; buyer data
        and the address lines only for a Restricted Data Token granting buyerInfo / shippingAddress
        (without one Amazon sends the city, region, postal code and country only)."""
        total = sum((i.item_price + i.item_tax + i.shipping for i in order.items), Decimal(0))
        rendered = {
            "AmazonOrderId": order.order_id,
            "PurchaseDate": iso(order.purchase_date),
            "LastUpdateDate": iso(order.last_update),
            "OrderStatus": order.status,
            "FulfillmentChannel": "MFN",
            "SalesChannel": "Amazon.com",
            "ShipServiceLevel": "Std US D2D Dom",
            "OrderTotal": {"CurrencyCode": "USD", "Amount": str(money(total))},
            "NumberOfItemsShipped": sum(i.shipped for i in order.items),
            "NumberOfItemsUnshipped": sum(i.qty - i.shipped - i.canceled for i in order.items),
            "MarketplaceId": MARKETPLACE_US,
            "ShipmentServiceLevelCategory": "Standard",
            "OrderType": "StandardOrder",
            "EarliestShipDate": iso(order.purchase_date),
            "LatestShipDate": iso(order.purchase_date + dt.timedelta(days=3)),
            "IsPrime": False,
            "IsBusinessOrder": False,
            "BuyerInfo": {"BuyerEmail": f"{order.seq}buyer@marketplace.amazon.com", "BuyerName": order.buyer},
            "ShippingAddress": {"Name": order.buyer, "AddressLine1": "1 Main St", "City": "Canton",
                                "StateOrRegion": "MI", "PostalCode": "48817", "CountryCode": "US"},
        }
        if "buyerInfo" not in pii:
            rendered["BuyerInfo"] = {}
        if "shippingAddress" not in pii:
            rendered["ShippingAddress"] = {key: rendered["ShippingAddress"][key]
                                           for key in ("City", "StateOrRegion", "PostalCode", "CountryCode")}
        if order.status in UNPAID:
            del rendered["OrderTotal"], rendered["ShippingAddress"]
        return rendered

    @staticmethod
    def render_item(item: Item, order: AmazonOrder) -> dict:
        """getOrderItems leaves out pricing, taxes and shipping charges while the order is Pending."""
        rendered = {
            "ASIN": item.asin,
            "OrderItemId": item.item_id,
            "SellerSKU": item.sku,
            "Title": item.title,
            "QuantityOrdered": item.qty,
            "QuantityShipped": item.shipped,
            "ItemPrice": {"CurrencyCode": "USD", "Amount": str(item.item_price)},
            "ItemTax": {"CurrencyCode": "USD", "Amount": str(item.item_tax)},
            "ShippingPrice": {"CurrencyCode": "USD", "Amount": str(item.shipping)},
            "BuyerRequestedCancel": {"IsBuyerRequestedCancel": "true" if item.buyer_cancel else "false",
                                     "BuyerCancelReason": item.buyer_cancel_reason},
        }
        if order.status in UNPAID:
            del rendered["ItemPrice"], rendered["ItemTax"], rendered["ShippingPrice"]
        return rendered


def with_page_state(params: dict[str, str], name: str) -> dict[str, str]:
    """The query a page token continues (the token encodes it), or the query as sent."""
    if not params.get(name):
        return params
    try:
        state = dict(urllib.parse.parse_qsl(urllib.parse.unquote(params[name])))
    except ValueError:
        raise error(400, "InvalidInput", f"Invalid {name}") from None
    return {**state, name: params[name]}


def iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        raise error(400, "InvalidInput", f"Invalid date {value!r}") from None
