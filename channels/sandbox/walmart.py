"""Walmart Marketplace v3 in the sandbox: token, orders (cursor paging), acknowledge, shipping,
cancel, refund and returns, validated as CONTRACTS.md describes."""

from __future__ import annotations

import base64
import bisect
import datetime as dt
import hashlib
import hmac
import itertools
import json
import random
import secrets
import threading
import urllib.parse
import uuid
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .common import ApiError, KeptBetweenRuns, RateLimits, Response, malform, money, to_ms, utcnow

CARRIERS = {
    "UPS", "USPS", "FedEx", "Airborne", "OnTrac", "DHL Ecommerce - US", "DHL", "LS", "UDS", "UPSMI", "FDX",
    "PILOT", "ESTES", "SAIA", "FDS Express", "Seko Worldwide", "FEDEXSP", "RL Carriers", "China Post",
    "YunExpress", "GLS", "OSM Worldwide", "LSO", "Royal Mail", "Canada Post", "XPO Logistics", "Deutsche Post",
}
METHOD_CODES = {"Standard", "Express", "OneDay", "Freight", "WhiteGlove", "Value"}
CANCEL_REASONS = {
    "CUSTOMER_REQUESTED_SELLER_TO_CANCEL",
    "SELLER_CANCEL_PRICING_ERROR",
    "SELLER_CANCEL_OUT_OF_STOCK",
    "SELLER_CANCEL_FRAUD_STOP_SHIPMENT",
    "SELLER_CANCEL_ADDRESS_NOT_SERVICEABLE",
}
REFUND_REASONS = {
    "BillingError", "TaxExemptCustomer", "ItemNotAsAdvertised", "IncorrectItemReceived", "CancelledYetShipped",
    "ItemNotReceivedByCustomer", "IncorrectShippingPrice", "DamagedItem", "DefectiveItem", "CustomerChangedMind",
    "CustomerReceivedItemLate", "Missing Parts / Instructions", "Finance -> Goodwill", "Finance -> Rollback",
    "Buyer canceled", "Customer returned item", "General adjustment", "Merchandise not received",
    "Quality -> Missing Parts / Instructions", "Shipping & Delivery -> Damaged",
    "Shipping & Delivery -> Shipping Price Discrepancy", "Others",
}
REQUIRED_HEADERS = ("WM_SVC.NAME", "WM_QOS.CORRELATION_ID")
MAX_LIMIT = 200
MAX_CANCEL_LINES = 100
# The allotments this sandbox grants per client and operation: (requests per second, burst), i.e. a
# per-minute allotment available at once and refilled gradually (developer.walmart.com/us-marketplace/
# docs/throttling). Walmart's own table could not be verified; these are the numbers shared/CONTRACTS.md
# (Walmart §5) quotes from a third party, cancel and refund taken as order updates (60/min).
LIMITS = {name: (count / 60, count) for name, count in {
    "token": 30, "orders": 5000, "order": 5000, "acknowledge": 60, "shipping": 60, "cancel": 60, "refund": 60,
    "returns": 50, "returnRefund": 60}.items()}
NAMES = ["Kathryn Cole", "Marcus Reed", "Priya Shah", "Tom Becker", "Ana Lima", "Jon Park", "Eva Novak"]
PRODUCTS = [("Laundry Bag - Blue", "DEMO-000"), ("Steel Water Bottle", "DEMO-001"), ("Desk Lamp", "DEMO-002"),
            ("Yoga Mat", "DEMO-003"), ("Phone Stand", "DEMO-004"), ("Garden Hose", "DEMO-005")]


def error(status: int, code: str, description: str, *, severity: str = "ERROR", category: str = "DATA") -> ApiError:
    return ApiError(
        status,
        {"errors": {"error": [{"code": code, "field": "data", "description": description,
                               "info": "Request content is invalid." if status == 400 else description,
                               "severity": severity, "category": category, "causes": [],
                               "errorIdentifiers": {"entry": []}}]}},
    )


def invalid(description: str) -> ApiError:
    return error(400, "INVALID_REQUEST_CONTENT.GMP_ORDER_API", description)


@dataclass
class Line:
    number: str
    sku: str
    name: str
    qty: int
    price: Decimal
    tax: Decimal
    shipping: Decimal
    shipped: int = 0
    cancelled: int = 0
    cancellation_reason: str = ""
    intent_to_cancel: bool = False
    # One entry per package the line's units went in: {"qty": units, "trackingInfo": {...}}, each
    # rendered as its own Shipped status, as Walmart lists a line shipped in several packages.
    packages: list[dict] = field(default_factory=list)
    refunds: list[dict] = field(default_factory=list)

    @property
    def open(self) -> int:
        return self.qty - self.shipped - self.cancelled

    @property
    def tracking(self) -> dict | None:
        """The latest package's tracking."""
        return self.packages[-1]["trackingInfo"] if self.packages else None

    def add_package(self, qty: int, tracking: dict) -> None:
        """Units shipped under a tracking number join the line's package of that number, if any."""
        self.shipped += qty
        for package in self.packages:
            if package["trackingInfo"]["trackingNumber"] == tracking["trackingNumber"]:
                package["qty"] += qty
                return
        self.packages.append({"qty": qty, "trackingInfo": tracking})

    @property
    def refunded(self) -> Decimal:
        """Every refund charge with its tax (negative, as Walmart shows refunds)."""
        return sum((charge_total(c["charge"]) for c in self.refund_charges()), Decimal("0"))

    def refund_charges(self) -> list[dict]:
        return [charge for refund in self.refunds for charge in refund["refundCharges"]["refundCharge"]]

    @property
    def refundable(self) -> Decimal:
        """What was charged for the shipped units (price, tax, shipping), minus what was refunded."""
        if not self.qty:
            return Decimal("0")
        share = Decimal(self.shipped) / Decimal(self.qty)
        charged = self.price * self.shipped + (self.tax + self.shipping) * share
        return money(charged) + self.refunded  # refunds are negative


@dataclass
class PurchaseOrder:
    seq: int
    po: str
    customer_order_id: str
    email: str
    order_date: dt.datetime
    last_modified: dt.datetime
    ship_by: dt.datetime
    buyer: str
    phone: str
    method_code: str
    lines: list[Line]
    acknowledged: bool = False
    seller: str | None = None  # the client id whose account alone sees it (None: every account)

    def line(self, number: str) -> Line:
        for line in self.lines:
            if line.number == number:
                return line
        raise invalid(f"Unable to process this request. The Line: {number} of PO: {self.po} does not exist")

    def touch(self) -> None:
        self.last_modified = utcnow()


@dataclass
class ReturnOrder:
    return_order_id: str
    customer_order_id: str
    po: str
    lines: list[dict]  # {returnOrderLineNumber, purchaseOrderLineNumber, qty, refunded}
    created: dt.datetime
    last_modified: dt.datetime


class WalmartMarketplace(KeptBetweenRuns):
    # Made anew when loaded: the lock, the listing cache, the per-thread caller, the throttling buckets.
    TRANSIENT = {"lock": threading.RLock, "_listing_cache": dict, "request": threading.local,
                 "limits": lambda: RateLimits(LIMITS)}

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.orders: dict[str, PurchaseOrder] = {}
        self.returns: dict[str, ReturnOrder] = {}
        self.tokens: dict[str, dt.datetime] = {}
        self.token_owner: dict[str, str] = {}  # token → client id, whose allotments it spends
        self.limits = RateLimits(LIMITS)
        self.webhooks: list[dict[str, str]] = []  # {"url", "secret", "header"}: where ORDER_UPDATES go
        self.deliveries: list[dict[str, Any]] = []  # what was sent there, and how it was answered
        self.credentials: dict[str, str] = {}  # empty: any non-empty client id/secret is accepted
        self.request = threading.local()  # .caller: the client id of the API call this thread serves
        self.token_ttl = 900
        self.max_cancel_lines = MAX_CANCEL_LINES
        self._seq = itertools.count(1)
        self._po = itertools.count(1796277083022)
        self.version = 0  # bumped by every change; list results are cached per version and filter
        self.malformations: dict[str, tuple[dict[str, Any], list[str]]] = {}  # po → how it is sent broken
        self._listing_cache: dict[tuple, tuple[list[PurchaseOrder], list[int]]] = {}

    # -- control (tests, demo, control API) -------------------------------------------------------
    def create_orders(
        self,
        *,
        count: int = 1,
        lines: int = 1,
        qty: int = 1,
        duplicate_lines: bool = False,
        intent_to_cancel: bool = False,
        acknowledged: bool = False,
        order_date: dt.datetime | None = None,
        price: str | None = None,
        skus: list[str] | None = None,
        seller: str | None = None,
        products: list[tuple[str, str, str]] | None = None,
    ) -> list[str]:
        """`products` (sku, name, unit price), when given, are the lines: one line per product."""
        created = []
        with self.lock:
            for _ in range(count):
                seq = next(self._seq)
                po = str(next(self._po))
                when = order_date or utcnow()
                order_lines: list[Line] = []
                for index in range(len(products) if products else lines):
                    name, sku = PRODUCTS[(seq + index) % len(PRODUCTS)]
                    if skus:
                        sku = skus[index % len(skus)]
                    unit = money(price) if price else money(random.randint(500, 5000) / 100)
                    if products:
                        sku, name, unit = products[index][0], products[index][1], money(products[index][2])
                    # Walmart can send one SKU as several single-unit lines (CONTRACTS.md).
                    copies = qty if duplicate_lines else 1
                    for _copy in range(copies):
                        units = 1 if duplicate_lines else qty
                        order_lines.append(
                            Line(
                                number=str(len(order_lines) + 1),
                                sku=sku,
                                name=name,
                                qty=units,
                                price=unit,
                                tax=money(unit * units * Decimal("0.08")),
                                shipping=money("2.00"),
                                intent_to_cancel=intent_to_cancel,
                            )
                        )
                self.orders[po] = PurchaseOrder(
                    seq=seq,
                    po=po,
                    customer_order_id=str(5281956426648 + seq),
                    email=f"{uuid.uuid4().hex.upper()}@relay.walmart.com",
                    order_date=when,
                    last_modified=utcnow(),
                    ship_by=when + dt.timedelta(days=2),
                    buyer=NAMES[seq % len(NAMES)],
                    phone="3155598681",
                    method_code="Standard",
                    lines=order_lines,
                    acknowledged=acknowledged,
                    seller=seller,
                )
                created.append(po)
            self.changed()
        for po in created:
            self.notify(po, "PO_CREATED")
        return created

    def channel_ship(self, po: str, *, line_numbers: list[str] | None = None, tracking_number: str = "",
                     qty: int | None = None, when: dt.datetime | None = None) -> None:
        """The seller shipped on Walmart's own site: each line's open units (or `qty` of them) in one
        package, its own unless `tracking_number` names one package for all of them. Called again
        with another tracking number, a line ships in several packages."""
        with self.lock:
            order = self._get(po)
            for line in order.lines:
                if (line_numbers is None or line.number in line_numbers) and line.open:
                    own = f"1Z{po}{line.number}" + (f"-{len(line.packages) + 1}" if line.packages else "")
                    line.add_package(min(qty or line.open, line.open), self._tracking_info(
                        carrier={"carrier": "UPS"}, method="Standard", number=tracking_number or own, url="",
                        when=when or utcnow()))
            order.acknowledged = True
            order.touch()
            self.changed()

    def channel_cancel(self, po: str, *, line_numbers: list[str] | None = None,
                       reason: str = "SELLER_CANCEL_OUT_OF_STOCK") -> None:
        with self.lock:
            order = self._get(po)
            for line in order.lines:
                if line_numbers is None or line.number in line_numbers:
                    line.cancelled += line.open
                    line.cancellation_reason = reason
            order.touch()
            self.changed()
        self.notify(po, "PO_LINE_AUTOCANCELLED")

    def request_cancellation(self, po: str, *, line_numbers: list[str] | None = None) -> None:
        """The buyer asked to cancel (intentToCancel)."""
        with self.lock:
            order = self._get(po)
            for line in order.lines:
                if line_numbers is None or line.number in line_numbers:
                    line.intent_to_cancel = True
            order.touch()
            self.changed()
        self.notify(po, "INTENT_TO_CANCEL")

    def create_return(self, po: str, *, line_numbers: list[str] | None = None) -> str:
        with self.lock:
            order = self._get(po)
            returned_before = Counter(l["purchaseOrderLineNumber"] for r in self.returns.values() if r.po == po
                                      for l in r.lines for _unit in range(l["qty"]))
            lines = [
                {"returnOrderLineNumber": index + 1, "purchaseOrderLineNumber": line.number, "qty": line.shipped,
                 "refunded": 0, "lastItem": returned_before[line.number] + line.shipped == line.qty}
                for index, line in enumerate(l for l in order.lines if line_numbers is None or l.number in line_numbers)
                if line.shipped
            ]
            if not lines:
                raise ValueError("a return needs shipped lines")
            return_id = str(70000000000 + len(self.returns) + 1)
            self.returns[return_id] = ReturnOrder(return_id, order.customer_order_id, po, lines, utcnow(), utcnow())
            return return_id

    def malform(self, po: str, *, set: dict[str, Any] | None = None, delete: list[str] | None = None) -> None:
        """From now on the order is listed and read malformed (see common.malform); modifies it."""
        with self.lock:
            self._get(po).touch()
            self.malformations[po] = (dict(set or {}), list(delete or []))
            self.changed()

    def mend(self, po: str) -> None:
        """The channel sends a readable version again (a later modification)."""
        with self.lock:
            self.malformations.pop(po, None)
            self._get(po).touch()
            self.changed()

    def render_as_sent(self, order: PurchaseOrder) -> Any:
        rendered = self.render(order)
        if order.po in self.malformations:
            return malform(rendered, *self.malformations[order.po])
        return rendered

    def changed(self) -> None:
        self.version += 1
        self._listing_cache.clear()

    def visible(self, order: PurchaseOrder) -> bool:
        """Orders sold for one seller (create_orders(seller=client id)) are that seller's API calls' only."""
        caller = getattr(self.request, "caller", None)
        return order.seller is None or caller is None or order.seller == caller

    def _get(self, po: str) -> PurchaseOrder:
        order = self.orders.get(po)
        if order is None or not self.visible(order):
            raise error(404, "CONTENT_NOT_FOUND.GMP_ORDER_API", f"PO {po} not found", severity="INFO")
        return order

    # -- webhooks (ORDER_UPDATES) -----------------------------------------------------------------
    def notify(self, po: str, sub_event: str) -> None:
        """Send the ORDER_UPDATES notification of an order event to every configured URL, signed as
        Walmart's HMAC auth method does (developer.walmart.com/us-marketplace/reference/createsubscription:
        the header named authHeaderName carries HMAC-SHA256 of the whole body, keyed by clientSecret;
        hex here, an encoding Walmart's page does not name). In a thread: a slow receiver never holds up a sale."""
        if not self.webhooks:
            return
        with self.lock:
            order = self.orders[po]
            document = {
                "source": {"eventType": "ORDER_UPDATES", "eventVersion": "V1", "eventId": str(uuid.uuid4()),
                           "eventTime": utcnow().isoformat(), "resourceName": "ORDER"},
                "payload": {"subEventType": sub_event, "partnerId": "100009",
                            "order": {"purchaseOrderId": po, "customerOrderId": order.customer_order_id,
                                      "orderDate": to_ms(order.order_date)}},
            }
        for hook in list(self.webhooks):
            threading.Thread(target=self._deliver, args=(hook, document), daemon=True).start()

    def _deliver(self, hook: dict[str, str], document: dict) -> None:
        import requests

        body = json.dumps(document).encode()
        signature = hmac.new(hook["secret"].encode(), body, hashlib.sha256).hexdigest()
        record: dict[str, Any] = {"url": hook["url"], "document": document, "sent_at": utcnow()}
        try:
            answer = requests.post(hook["url"], data=body, timeout=10, headers={
                "Content-Type": "application/json", hook.get("header") or "X-Walmart-Signature": signature})
            record["status"] = answer.status_code
        except requests.RequestException as failure:
            record["status"], record["error"] = None, type(failure).__name__
        with self.lock:
            self.deliveries.append(record)

    # -- API ------------------------------------------------------------------------------------
    def operation(self, method: str, parts: list[str]) -> str:
        """The throttled operation a request belongs to (LIMITS)."""
        if parts[:2] == ["v3", "token"]:
            return "token"
        if parts[:2] == ["v3", "returns"]:
            return "returnRefund" if method == "POST" else "returns"
        if parts[:2] == ["v3", "orders"]:
            return parts[3] if len(parts) == 4 else "order" if len(parts) == 3 else "orders"
        return ""

    def handle(self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], body: Any) -> Response:
        parts = [part for part in path.split("/") if part]  # v3, orders, {po}, action
        operation = self.operation(method, parts)
        if operation == "token":
            caller = hashlib.sha256(headers.get("Authorization", "").encode()).hexdigest()
        else:
            self.authenticate(headers)
            caller = self.token_owner.get(headers.get("WM_SEC.ACCESS_TOKEN", ""), "")
        self.request.caller = caller
        allowed, left, wait = self.limits.take(caller, operation)
        replenished = {"X-Current-Token-Count": str(max(int(left), 0)),
                       "X-Next-Replenishment-Time": str(to_ms(utcnow() + dt.timedelta(seconds=wait)))}
        if not allowed:
            raise ApiError(429, {"errors": {"error": [{"code": "REQUEST_THRESHOLD_VIOLATED.GMP_GATEWAY_API",
                                                       "description": "Too many requests", "severity": "ERROR",
                                                       "category": "REQUEST"}]}}, headers=replenished)
        try:
            response = self._route(method, path, parts, query, headers, body)
        except ApiError as refused:
            refused.headers.update(replenished if left >= 0 else {})
            raise
        if left >= 0:
            response.headers.update(replenished)
        return response

    def _route(self, method: str, path: str, parts: list[str], query: dict[str, list[str]], headers: dict[str, str],
               body: Any) -> Response:
        if parts[:2] == ["v3", "token"] and method == "POST":
            return self.token(headers, body)
        with self.lock:
            if parts == ["v3", "orders"] and method == "GET":
                return self.list_orders(query)
            if len(parts) == 3 and parts[:2] == ["v3", "orders"] and method == "GET":
                return Response(body={"order": self.render_as_sent(self._get(parts[2]))})
            if len(parts) == 4 and parts[:2] == ["v3", "orders"] and method == "POST":
                self.require_json(headers)
                action = {"acknowledge": self.acknowledge, "shipping": self.ship, "cancel": self.cancel,
                          "refund": self.refund}.get(parts[3])
                if action is None:
                    raise error(404, "URI_NOT_FOUND.GMP_ORDER_API", "No such resource")
                order = self._get(parts[2])
                action(order, body or {})
                order.touch()
                self.changed()
                return Response(body={"order": self.render(order)})
            if parts == ["v3", "returns"] and method == "GET":
                return self.list_returns(query)
            if len(parts) == 4 and parts[:2] == ["v3", "returns"] and parts[3] == "refund" and method == "POST":
                return self.refund_return(parts[2], body or {})
        raise error(404, "URI_NOT_FOUND.GMP_ORDER_API", f"No such resource: {method} {path}")

    def token(self, headers: dict[str, str], body: Any) -> Response:
        for name in REQUIRED_HEADERS:
            if not headers.get(name):
                raise error(400, "MISSING_REQUEST_HEADER.GMP_GATEWAY_API", f"{name} header is missing", category="REQUEST")
        auth = headers.get("Authorization", "")
        form = urllib.parse.parse_qs(body if isinstance(body, str) else "")
        if form.get("grant_type") != ["client_credentials"]:
            raise error(400, "INVALID_REQUEST_PARAM.GMP_GATEWAY_API", "grant_type must be client_credentials")
        try:
            client_id, client_secret = base64.b64decode(auth.removeprefix("Basic ")).decode().split(":", 1)
        except ValueError:
            raise error(401, "UNAUTHORIZED.GMP_GATEWAY_API", "Basic authorization is missing or malformed",
                        category="REQUEST") from None
        known = self.credentials.get(client_id) if self.credentials else client_secret
        if not client_id or not client_secret or known != client_secret:
            raise error(401, "UNAUTHORIZED.GMP_GATEWAY_API", "Invalid client credentials", category="REQUEST")
        token = "eyJraWQi" + secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[token] = utcnow() + dt.timedelta(seconds=self.token_ttl)
            self.token_owner[token] = client_id
        return Response(body={"access_token": token, "token_type": "Bearer", "expires_in": self.token_ttl})

    def authenticate(self, headers: dict[str, str]) -> None:
        for name in REQUIRED_HEADERS:
            if not headers.get(name):
                raise error(400, "MISSING_REQUEST_HEADER.GMP_GATEWAY_API", f"{name} header is missing", category="REQUEST")
        if "application/json" not in headers.get("Accept", ""):
            raise error(406, "INVALID_ACCEPT_TYPE.GMP_GATEWAY_API", "Accept must be application/json", category="REQUEST")
        token = headers.get("WM_SEC.ACCESS_TOKEN", "")
        expiry = self.tokens.get(token)
        if expiry is None or expiry < utcnow():
            raise error(401, "UNAUTHORIZED.GMP_GATEWAY_API", "Unauthorized: token missing, invalid or expired",
                        category="REQUEST")

    @staticmethod
    def require_json(headers: dict[str, str]) -> None:
        if "application/json" not in headers.get("Content-Type", "application/json"):
            raise error(415, "UNSUPPORTED_MEDIA_TYPE.GMP_GATEWAY_API", "Content-Type must be application/json")

    # -- orders list ------------------------------------------------------------------------------
    def list_orders(self, query: dict[str, list[str]]) -> Response:
        params = {key: values[-1] for key, values in query.items()}
        limit = int(params.get("limit", 100))
        if not 1 <= limit <= MAX_LIMIT:
            raise error(400, "INVALID_REQUEST_PARAM.GMP_ORDER_API", f"limit must be between 1 and {MAX_LIMIT}")
        now = utcnow()
        created_start = parse_date(params.get("createdStartDate")) or now - dt.timedelta(days=7)
        created_start = max(created_start, now - dt.timedelta(days=180))
        created_end = parse_date(params.get("createdEndDate")) or now
        modified_start = parse_date(params.get("lastModifiedStartDate"))
        modified_end = parse_date(params.get("lastModifiedEndDate"))
        status = params.get("status")
        after_seq = int(params.get("soIndex", 0))

        # The query's own values, not "now": a listing paged through stays cached until the marketplace
        # changes (every change clears the cache), instead of being filtered again for every page.
        key = (params.get("createdStartDate"), params.get("createdEndDate"), modified_start, modified_end, status,
               getattr(self.request, "caller", None))
        cached = self._listing_cache.get(key)
        if cached is None:  # orders are kept in creation (seq) order
            matching = [
                order
                for order in self.orders.values()
                if created_start <= order.order_date <= created_end
                and (modified_start is None or order.last_modified >= modified_start)
                and (modified_end is None or order.last_modified <= modified_end)
                and (status is None or status in self.line_status_names(order))
                and self.visible(order)
            ]
            cached = self._listing_cache[key] = (matching, [order.seq for order in matching])
        matching, seqs = cached
        start = bisect.bisect_right(seqs, after_seq) if after_seq else 0
        page = matching[start:start + limit]
        if not page:
            raise error(404, "CONTENT_NOT_FOUND.GMP_ORDER_API", "No orders found for the given criteria",
                        severity="INFO")
        meta: dict[str, Any] = {"totalCount": len(matching), "limit": limit}
        if start + limit < len(matching):
            cursor = {key: value for key, value in params.items() if key not in ("soIndex", "hasMoreElements")}
            cursor.update({"hasMoreElements": "true", "soIndex": str(page[-1].seq), "poIndex": page[-1].po,
                           "partnerId": "100009", "sellerId": "8"})
            meta["nextCursor"] = "?" + urllib.parse.urlencode(cursor)
        return Response(body={"list": {"meta": meta, "elements": {"order": [self.render_as_sent(o) for o in page]}}})

    def line_status_names(self, order: PurchaseOrder) -> set[str]:
        return {status["status"] for line in order.lines for status in self.line_statuses(order, line)}

    # -- writes -----------------------------------------------------------------------------------
    def acknowledge(self, order: PurchaseOrder, body: dict) -> None:
        if all(line.open == 0 for line in order.lines):
            raise invalid(f"Unable to process this request. PO: {order.po} Some or all qty in higher status")
        order.acknowledged = True

    def ship(self, order: PurchaseOrder, body: dict) -> None:
        shipment = body.get("orderShipment") or {}
        requested = (shipment.get("orderLines") or {}).get("orderLine") or []
        if not requested:
            raise invalid("orderShipment.orderLines.orderLine is required")
        update = shipment.get("processMode") == "PARTIAL_UPDATE"
        if not order.acknowledged:
            raise invalid(f"Unable to process this request. PO: {order.po} must be acknowledged before shipping")
        plan = []
        for entry in requested:
            line = order.line(str(entry.get("lineNumber", "")))
            for status in (entry.get("orderLineStatuses") or {}).get("orderLineStatus") or []:
                if status.get("status") != "Shipped":
                    raise invalid(f"Line {line.number}: status must be Shipped")
                qty = quantity(status)
                tracking = status.get("trackingInfo") or {}
                self.validate_tracking(line, tracking)
                if line.intent_to_cancel and not entry.get("intentToCancelOverride"):
                    raise invalid(f"Line {line.number}: the customer requested cancellation; "
                                  "set intentToCancelOverride to ship it")
                if update:
                    package = self.package_to_update(line, status)
                    if qty > package["qty"]:
                        raise invalid(f"Line {line.number}: PARTIAL_UPDATE only changes tracking of shipped qty")
                elif qty > line.open:
                    raise invalid(f"Qty OverShipped : Some or All Line(s)/Qty cannot be Shipped. Line {line.number}")
                else:
                    package = None
                plan.append((line, qty, tracking, package))
        for line, qty, tracking, package in plan:
            if package is None:
                line.add_package(qty, tracking)
            else:
                package["trackingInfo"] = tracking

    @staticmethod
    def package_to_update(line: Line, status: dict) -> dict:
        """The shipped package a PARTIAL_UPDATE changes: the one whose tracking number it names in
        currentTrackingInfo, as Walmart requires once a line has several packages; a line shipped in
        one package takes an update without it."""
        current = (status.get("currentTrackingInfo") or {}).get("trackingNumber")
        if current:
            named = [package for package in line.packages if package["trackingInfo"]["trackingNumber"] == current]
            if not named:
                raise invalid(f"Line {line.number}: no shipped package has tracking number {current}")
            return named[0]
        if len(line.packages) == 1:
            return line.packages[0]
        if not line.packages:
            raise invalid(f"Line {line.number}: PARTIAL_UPDATE only changes tracking of shipped qty")
        raise invalid(f"Line {line.number} was shipped in {len(line.packages)} packages: name the one to update "
                      "in currentTrackingInfo.trackingNumber")

    def validate_tracking(self, line: Line, tracking: dict) -> None:
        for name in ("shipDateTime", "carrierName", "methodCode", "trackingNumber"):
            if not tracking.get(name):
                raise invalid(f"Line {line.number}: trackingInfo.{name} is required")
        carrier = tracking["carrierName"]
        if carrier.get("otherCarrier"):
            if not tracking.get("trackingURL"):
                raise invalid(f"Line {line.number}: trackingURL is required with otherCarrier")
        elif carrier.get("carrier") not in CARRIERS:
            raise invalid(f"Line {line.number}: carrier {carrier.get('carrier')!r} is not a known carrier")
        if tracking["methodCode"] not in METHOD_CODES:
            raise invalid(f"Line {line.number}: methodCode {tracking['methodCode']!r} is not valid")

    def cancel(self, order: PurchaseOrder, body: dict) -> None:
        requested = ((body.get("orderCancellation") or {}).get("orderLines") or {}).get("orderLine") or []
        if not requested:
            raise invalid("orderCancellation.orderLines.orderLine is required")
        if len(requested) > self.max_cancel_lines:
            raise invalid(f"At most {self.max_cancel_lines} order lines can be cancelled in one request")
        plan = []
        for entry in requested:
            line = order.line(str(entry.get("lineNumber", "")))
            for status in (entry.get("orderLineStatuses") or {}).get("orderLineStatus") or []:
                reason = status.get("cancellationReason")
                if status.get("status") != "Cancelled":
                    raise invalid(f"Line {line.number}: status must be Cancelled")
                if reason not in CANCEL_REASONS:
                    raise invalid(f"Line {line.number}: cancellationReason {reason!r} is not valid")
                if reason == "CUSTOMER_REQUESTED_SELLER_TO_CANCEL" and not line.intent_to_cancel:
                    raise invalid(f"Line {line.number}: CUSTOMER_REQUESTED_SELLER_TO_CANCEL needs a customer "
                                  "cancellation request")
                qty = quantity(status)
                if qty > line.open:
                    raise invalid(f"Unable to process this request. The Line: {line.number} of PO: {order.po} "
                                  "is in SHIPPED status" if line.shipped else
                                  f"Line {line.number}: cannot cancel more than the open quantity")
                plan.append((line, qty, reason))
        for line, qty, reason in plan:
            line.cancelled += qty
            line.cancellation_reason = reason

    def refund(self, order: PurchaseOrder, body: dict) -> None:
        refund = body.get("orderRefund") or {}
        requested = (refund.get("orderLines") or {}).get("orderLine") or []
        if not requested:
            raise invalid("orderRefund.orderLines.orderLine is required")
        if len({bool(entry.get("isFullRefund")) for entry in requested}) > 1:
            raise invalid("All lines of a refund must be either full or partial")
        plan = []
        for entry in requested:
            line = order.line(str(entry.get("lineNumber", "")))
            if line.shipped == 0:
                raise invalid(f"Line {line.number}: only Shipped lines can be refunded")
            for item in (entry.get("refunds") or {}).get("refund") or []:
                charges = (item.get("refundCharges") or {}).get("refundCharge") or []
                total = Decimal("0")
                for charge in charges:
                    if charge.get("refundReason") not in REFUND_REASONS:
                        raise invalid(f"Line {line.number}: refundReason {charge.get('refundReason')!r} is not valid")
                    amount = Decimal(str(charge["charge"]["chargeAmount"]["amount"]))
                    tax = Decimal(str(((charge["charge"].get("tax") or {}).get("taxAmount") or {}).get("amount", 0)))
                    if amount > 0 or tax > 0:
                        raise invalid(f"Line {line.number}: refund amounts must be negative")
                    total += charge_total(charge["charge"])
                if -total > line.refundable:
                    raise invalid(f"Line {line.number}: refund exceeds the amount charged")
                plan.append((line, item))
        for line, item in plan:
            # Kept as sent: the charge amount without its tax, the tax on its own (as Walmart shows them).
            line.refunds.append({"refundId": uuid.uuid4().hex[:12], "refundComments": item.get("refundComments", ""),
                                 "refundCharges": {"refundCharge": item["refundCharges"]["refundCharge"]}})

    # -- returns ----------------------------------------------------------------------------------
    def list_returns(self, query: dict[str, list[str]]) -> Response:
        params = {key: values[-1] for key, values in query.items()}
        limit = min(int(params.get("limit", 10)), MAX_LIMIT)
        offset = int(params.get("offset", 0))
        modified_start = parse_date(params.get("returnLastModifiedStartDate"))
        matching = [r for r in self.returns.values()
                    if modified_start is None or r.last_modified >= modified_start]
        if params.get("customerOrderId"):
            matching = [r for r in matching if r.customer_order_id == params["customerOrderId"]]
        page = matching[offset:offset + limit]
        meta: dict[str, Any] = {"totalCount": len(matching), "limit": limit}
        if offset + limit < len(matching):
            meta["nextCursor"] = "?" + urllib.parse.urlencode({**params, "limit": limit, "offset": offset + limit})
        return Response(body={"meta": meta, "returnOrders": [self.render_return(r) for r in page]})

    def refund_return(self, return_id: str, body: dict) -> Response:
        ret = self.returns.get(return_id)
        if ret is None:
            raise error(404, "CONTENT_NOT_FOUND.GMP_RETURNS_API", f"Return {return_id} not found", severity="INFO")
        order = self._get(ret.po)
        plan = []
        for entry in body.get("refundLines") or []:
            match = [line for line in ret.lines if line["returnOrderLineNumber"] == int(entry["returnOrderLineNumber"])]
            if not match:
                raise invalid(f"Return line {entry['returnOrderLineNumber']} does not exist")
            qty = int(entry["quantity"]["measurementValue"])
            if qty <= 0 or match[0]["refunded"] + qty > match[0]["qty"]:
                raise invalid(f"Return line {entry['returnOrderLineNumber']}: refund exceeds the returned quantity")
            plan.append((match[0], qty))
        if not plan:
            raise invalid("refundLines is required")
        for return_line, qty in plan:
            return_line["refunded"] += qty
            line = order.line(return_line["purchaseOrderLineNumber"])
            # Walmart refunds the returned units' price and tax as the return shows them per unit, the
            # excess on the line's last item; shipping stays with the order.
            unit_tax, excess_tax = return_tax(line)
            last = return_line.get("lastItem", False) and return_line["refunded"] == return_line["qty"]
            charge = {"chargeType": "PRODUCT", "chargeName": "ItemPrice",
                      "chargeAmount": {"currency": "USD", "amount": -money(line.price * qty)},
                      "tax": {"taxName": "Tax1", "taxAmount": {
                          "currency": "USD", "amount": -(unit_tax * qty + (excess_tax if last else Decimal("0")))}}}
            line.refunds.append({"refundId": f"R{return_id}", "refundComments": "Customer returned item",
                                 "refundCharges": {"refundCharge": [{"refundReason": "Customer returned item",
                                                                     "charge": charge}]}})
        ret.last_modified = utcnow()
        order.touch()
        self.changed()
        return Response(body={"returnOrderId": return_id, "customerOrderId": ret.customer_order_id,
                              "refundLines": body.get("refundLines")})

    # -- rendering --------------------------------------------------------------------------------
    def line_statuses(self, order: PurchaseOrder, line: Line) -> list[dict]:
        statuses = []
        if line.open:
            statuses.append({"status": "Acknowledged" if order.acknowledged else "Created",
                             "statusQuantity": {"unitOfMeasurement": "EACH", "amount": str(line.open)}})
        for package in line.packages:
            statuses.append({"status": "Shipped", "statusQuantity": {"unitOfMeasurement": "EACH",
                                                                      "amount": str(package["qty"])},
                             "trackingInfo": package["trackingInfo"]})
        if line.cancelled:
            statuses.append({"status": "Cancelled", "cancellationReason": line.cancellation_reason,
                             "statusQuantity": {"unitOfMeasurement": "EACH", "amount": str(line.cancelled)}})
        return statuses

    def render(self, order: PurchaseOrder) -> dict:
        total = Decimal("0")
        lines = []
        for line in order.lines:
            fully_cancelled = line.cancelled == line.qty
            price = Decimal("0") if fully_cancelled else line.price
            tax = Decimal("0") if fully_cancelled else line.tax
            shipping = Decimal("0") if fully_cancelled else line.shipping
            total += price * line.qty + tax + shipping
            rendered = {
                "lineNumber": line.number,
                "item": {"productName": line.name, "sku": line.sku},
                "charges": {"charge": [
                    {"chargeType": "PRODUCT", "chargeName": "ItemPrice",
                     "chargeAmount": {"currency": "USD", "amount": price},
                     "tax": {"taxName": "Tax1", "taxAmount": {"currency": "USD", "amount": tax}}},
                    {"chargeType": "SHIPPING", "chargeName": "Shipping",
                     "chargeAmount": {"currency": "USD", "amount": shipping}},
                ]},
                "orderLineQuantity": {"unitOfMeasurement": "EACH", "amount": str(line.qty)},
                "statusDate": to_ms(order.last_modified),
                "orderLineStatuses": {"orderLineStatus": self.line_statuses(order, line)},
                "fulfillment": {"fulfillmentOption": "S2H", "shipMethod": order.method_code.upper()},
            }
            if line.intent_to_cancel:
                rendered["intentToCancel"] = "true"
            if line.refunds:
                rendered["refund"] = {"refundId": line.refunds[-1]["refundId"],
                                      "refundCharges": {"refundCharge": line.refund_charges()}}
            lines.append(rendered)
        return {
            "purchaseOrderId": order.po,
            "customerOrderId": order.customer_order_id,
            "customerEmailId": order.email,
            "orderDate": to_ms(order.order_date),
            "shippingInfo": {
                "phone": order.phone,
                "estimatedDeliveryDate": to_ms(order.ship_by + dt.timedelta(days=3)),
                "estimatedShipDate": to_ms(order.ship_by),
                "methodCode": order.method_code,
                "postalAddress": {"name": order.buyer, "address1": "3258B Warners rd", "address2": "Garage",
                                  "city": "Warners", "state": "NY", "postalCode": "13164", "country": "USA",
                                  "addressType": "RESIDENTIAL"},
            },
            "orderLines": {"orderLine": lines},
            "orderSummary": {"totalAmount": {"currencyAmount": money(total), "currencyUnit": "USD"}},
            "shipNode": {"type": "SellerFulfilled"},
        }

    def render_return(self, ret: ReturnOrder) -> dict:
        order = self.orders[ret.po]
        return {
            "returnOrderId": ret.return_order_id,
            "customerOrderId": ret.customer_order_id,
            "returnOrderDate": ret.created.isoformat(),
            "returnByDate": (ret.created + dt.timedelta(days=30)).isoformat(),
            "refundMode": "ONLINE",
            "totalRefundAmount": {"currencyAmount": sum(
                (order.line(l["purchaseOrderLineNumber"]).price * l["qty"] for l in ret.lines), Decimal("0")),
                "currencyUnit": "USD"},
            "returnOrderLines": [
                {"returnOrderLineNumber": l["returnOrderLineNumber"], "purchaseOrderId": ret.po,
                 "purchaseOrderLineNumber": l["purchaseOrderLineNumber"], "returnReason": "DAMAGED_ITEM",
                 "item": {"sku": order.line(l["purchaseOrderLineNumber"]).sku,
                          "productName": order.line(l["purchaseOrderLineNumber"]).name},
                 "quantity": {"unitOfMeasure": "EACH", "measurementValue": l["qty"]},
                 **self.render_return_charges(order.line(l["purchaseOrderLineNumber"])),
                 "lastItem": l.get("lastItem", False), "refundedQty": l["refunded"],
                 "currentRefundStatus": "REFUND_COMPLETED" if l["refunded"] >= l["qty"] else "REFUND_PENDING"}
                for l in ret.lines
            ],
        }

    @staticmethod
    def render_return_charges(line: Line) -> dict:
        """The returned line's product charge per unit, its tax per unit and the excess tax its last
        item carries (ReturnOrderLine.charges in Walmart's Returns model)."""
        def usd(amount: Decimal) -> dict:
            return {"currencyAmount": amount, "currencyUnit": "USD"}

        unit_tax, excess_tax = return_tax(line)
        return {"unitPrice": usd(line.price), "charges": [{
            "chargeCategory": "PRODUCT", "chargeName": "ItemPrice", "chargePerUnit": usd(line.price),
            "isDiscount": False, "isBillable": True, "excessCharge": usd(Decimal("0.00")),
            "tax": [{"taxName": "Tax1", "taxPerUnit": usd(unit_tax), "excessTax": usd(excess_tax)}]}]}

    @staticmethod
    def _tracking_info(*, carrier: dict, method: str, number: str, url: str, when: dt.datetime) -> dict:
        return {"shipDateTime": to_ms(when), "carrierName": carrier, "methodCode": method,
                "trackingNumber": number, "trackingURL": url}


def return_tax(line: Line) -> tuple[Decimal, Decimal]:
    """(tax per unit, excess tax) of a returned line: the line's tax split per unit to the cent, and
    the cents that leaves over, which Walmart adds to the line's last returned item."""
    unit_tax = money(line.tax / line.qty)
    return unit_tax, line.tax - unit_tax * line.qty


def charge_total(charge: dict) -> Decimal:
    """A charge's amount plus its tax."""
    tax = ((charge.get("tax") or {}).get("taxAmount") or {}).get("amount", 0)
    return Decimal(str(charge["chargeAmount"]["amount"])) + Decimal(str(tax))


def quantity(status: dict) -> int:
    try:
        qty = int((status.get("statusQuantity") or {}).get("amount"))
    except (TypeError, ValueError):
        raise invalid("statusQuantity.amount must be a whole number given as a string") from None
    if qty <= 0:
        raise invalid("statusQuantity.amount must be positive")
    return qty


def parse_date(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    for fmt in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(value, fmt).replace(tzinfo=dt.UTC)
        except ValueError:
            continue
    raise error(400, "INVALID_REQUEST_PARAM.GMP_ORDER_API", f"Invalid date {value!r}")
