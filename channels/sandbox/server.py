"""The sandbox's HTTP server: routes channel calls, applies faults, records requests, and serves
the control API under /_sandbox/ (used by the demo and by tests running it out of process)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
import pickle
import socket
import threading
import time
import urllib.parse
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .common import ApiError, FaultPlan, RecordedRequest, RequestLog, Response, to_ms, utcnow
from .amazon import AmazonMarketplace
from .walmart import WalmartMarketplace

logger = logging.getLogger("sandbox")


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value):
        return dataclasses.asdict(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(value: Any) -> bytes:
    return json.dumps(value, default=_json_default).encode()


class Sandbox:
    """All state of one sandbox marketplace. Tests use it directly; the server exposes it over HTTP."""

    def __init__(self) -> None:
        self.walmart = WalmartMarketplace()
        self.amazon = AmazonMarketplace()
        self.faults = FaultPlan()
        self.requests = RequestLog()

    def reset(self) -> None:
        base_url = self.amazon.base_url
        self.__init__()
        self.amazon.base_url = base_url

    def enforce_limits(self, enabled: bool) -> None:
        """The channels' throttling on (the default, as on the real channels) or off (fast tests)."""
        for market in (self.walmart, self.amazon):
            market.limits.enabled = enabled
            market.limits.reset()

    def route(self, method: str, path: str, query: dict, headers: dict, body: Any) -> Response:
        if path.startswith("/v3/"):
            return self.walmart.handle(method, path, query, headers, body)
        if path.startswith(AMAZON_PREFIXES):
            return self.amazon.handle(method, path, query, headers, body)
        raise ApiError(404, {"errors": [{"code": "NotFound", "message": f"No route for {method} {path}"}]})

    # -- kept between runs (the demo) -----------------------------------------------------------
    def state(self) -> bytes:
        """Both marketplaces' orders, returns, feeds and tokens; faults and the request record are
        left out. Pickle: the file is the sandbox's own (var/), written and read only by it."""
        with self.walmart.lock, self.amazon.lock:
            return pickle.dumps({"format": STATE_FORMAT, "walmart": self.walmart, "amazon": self.amazon})

    def save(self, path: Path, state: bytes | None = None) -> None:
        """Write the state (or `state`, taken earlier) whole or not at all."""
        partial = path.with_name(path.name + ".partial")
        partial.write_bytes(state if state is not None else self.state())
        os.replace(partial, path)

    @classmethod
    def load(cls, path: Path) -> Sandbox:
        kept = pickle.loads(path.read_bytes())
        if kept.get("format") != STATE_FORMAT:
            raise ValueError(f"{path} was written by another version of the sandbox")
        sandbox = cls()
        sandbox.walmart, sandbox.amazon = kept["walmart"], kept["amazon"]
        return sandbox

    # -- control API ------------------------------------------------------------------------------
    def control(self, method: str, path: str, body: Any) -> Response:
        self.walmart.request.caller = self.amazon.request.caller = None  # the control API sees every order
        parts = [part for part in path.split("/") if part][1:]  # after "_sandbox"
        body = body or {}
        if parts == [] and method == "GET":
            return Response(body={"control_api": [dataclasses.asdict(route) for route in CONTROL_API]})
        if parts == ["reset"] and method == "POST":
            self.reset()
            return Response(body={"ok": True})
        if parts == ["faults"]:
            if method == "POST":
                fault = self.faults.add(**body)
                return Response(status=201, body=dataclasses.asdict(fault))
            if method == "DELETE":
                self.faults.clear()
                return Response(body={"ok": True})
            return Response(body=[dataclasses.asdict(f) for f in self.faults.pending()])
        if parts == ["limits"] and method == "POST":
            self.enforce_limits(bool(body.get("enabled", True)))
            return Response(body={"enabled": self.walmart.limits.enabled})
        if parts == ["requests"]:
            if method == "DELETE":
                self.requests.clear()
                return Response(body={"ok": True})
            return Response(body=[dataclasses.asdict(r) for r in self.requests.all()])
        if parts[:1] == ["walmart"]:
            return self._walmart_control(method, parts[1:], body)
        if parts[:1] == ["amazon"]:
            return self._amazon_control(method, parts[1:], body)
        raise ApiError(404, {"error": f"no control route {method} {path}; GET /_sandbox/ lists them"})

    def _walmart_control(self, method: str, parts: list[str], body: dict) -> Response:
        market = self.walmart
        if parts == ["orders"] and method == "POST":
            return Response(status=201, body={"purchaseOrderIds": market.create_orders(**body)})
        if parts == ["credentials"] and method == "POST":
            market.credentials = dict(body)
            return Response(body={"ok": True})
        if parts == ["webhooks"]:  # where ORDER_UPDATES notifications go: {"url", "secret", "header"}
            if method == "POST":
                if not str(body.get("url", "")).startswith(("http://", "https://")) or not body.get("secret"):
                    raise ApiError(400, {"error": "a webhook needs an http(s) url and a secret"})
                market.webhooks.append({"url": body["url"], "secret": body["secret"], "header": body.get("header", "")})
                return Response(status=201, body={"ok": True})
            if method == "DELETE":
                market.webhooks.clear()
                return Response(body={"ok": True})
            with market.lock:
                return Response(body=[{k: v for k, v in d.items() if k != "document"} | {"event": d["document"]}
                                      for d in market.deliveries])
        if len(parts) == 3 and parts[0] == "orders" and method == "POST" and parts[2] in WALMART_ORDER_VERBS:
            result = getattr(market, WALMART_ORDER_VERBS[parts[2]].method)(parts[1], **body)
            return Response(body={"ok": True, "result": result})
        if len(parts) == 2 and parts[0] == "orders" and method == "GET":
            with market.lock:
                return Response(body=market.render(market._get(parts[1])))
        raise ApiError(404, {"error": f"no walmart control route {method} {'/'.join(parts)}; GET /_sandbox/ lists them"})

    def _amazon_control(self, method: str, parts: list[str], body: dict) -> Response:
        market = self.amazon
        if parts == ["orders"] and method == "POST":
            return Response(status=201, body={"AmazonOrderIds": market.create_orders(**body)})
        if parts == ["feeds", "process"] and method == "POST":
            market.process_feeds()
            return Response(body={"ok": True})
        if len(parts) == 3 and parts[0] == "orders" and method == "POST" and parts[2] in AMAZON_ORDER_VERBS:
            getattr(market, AMAZON_ORDER_VERBS[parts[2]].method)(parts[1], **body)
            return Response(body={"ok": True})
        raise ApiError(404, {"error": f"no amazon control route {method} {'/'.join(parts)}; GET /_sandbox/ lists them"})


STATE_FORMAT = 1


@dataclasses.dataclass(frozen=True)
class OrderVerb:
    method: str  # of the marketplace
    what: str
    body: str = ""


MALFORM_BODY = '{"set": {"dotted.path": value}, "delete": ["dotted.path"]}'
WALMART_ORDER_VERBS = {
    "ship": OrderVerb("channel_ship", "the seller shipped on Walmart's site (every line, or those named)",
                      '{"line_numbers": ["1"], "tracking_number": "1Z…"}'),
    "cancel": OrderVerb("channel_cancel", "canceled on Walmart's site", '{"line_numbers": ["1"], "reason": '
                        '"SELLER_CANCEL_OUT_OF_STOCK"}'),
    "request-cancellation": OrderVerb("request_cancellation", "the buyer asks to cancel (intentToCancel)",
                                      '{"line_numbers": ["1"]}'),
    "return": OrderVerb("create_return", "the buyer returns shipped lines; answers the return order id",
                        '{"line_numbers": ["1"]}'),
    "malform": OrderVerb("malform", "from now on the order is sent malformed (paths under the order)", MALFORM_BODY),
    "mend": OrderVerb("mend", "the order is sent readable again"),
}
AMAZON_ORDER_VERBS = {
    "pay": OrderVerb("pay", "a Pending order is paid: Unshipped"),
    "ship": OrderVerb("channel_ship", "the seller shipped on Seller Central (every item, or those named)",
                      '{"item_ids": ["…"]}'),
    "cancel": OrderVerb("channel_cancel", "canceled on Seller Central"),
    "request-cancellation": OrderVerb("request_cancellation", "the buyer asks to cancel",
                                      '{"reason": "Found cheaper somewhere else."}'),
    "malform": OrderVerb("malform", "from now on the order is sent malformed (paths under order. and items.)",
                         MALFORM_BODY),
    "mend": OrderVerb("mend", "the order is sent readable again"),
}


@dataclasses.dataclass(frozen=True)
class ControlRoute:
    method: str
    path: str
    what: str
    body: str = ""


CONTROL_API = [
    ControlRoute("GET", "/_sandbox/", "this list"),
    ControlRoute("POST", "/_sandbox/reset", "forget every order, fault and recorded request"),
    ControlRoute("POST", "/_sandbox/limits", "enforce the channels' published rate limits, or not", '{"enabled": false}'),
    ControlRoute("GET", "/_sandbox/faults", "the faults not used up yet"),
    ControlRoute("POST", "/_sandbox/faults", "fail the next matching channel requests (kind: 400, 429, 500, 503, timeout, "
                 "drop, malformed; a drop `when` before or after the change is applied)",
                 '{"kind": "500", "path": "regex", "method": "POST", "count": 1, "when": "after", "delay": 3.0, '
                 '"retry_after_ms": 1000}'),
    ControlRoute("DELETE", "/_sandbox/faults", "drop the faults not used up yet"),
    ControlRoute("GET", "/_sandbox/requests", "every channel request received (credentials masked)"),
    ControlRoute("DELETE", "/_sandbox/requests", "forget the recorded requests"),
    ControlRoute("POST", "/_sandbox/walmart/orders", "sell Walmart orders; answers their purchaseOrderIds",
                 '{"count": 1, "lines": 1, "qty": 1, "duplicate_lines": false, "intent_to_cancel": false, '
                 '"acknowledged": false, "price": "9.99", "skus": ["SKU"], "products": [["SKU", "name", "9.99"]], '
                 '"seller": "<client id seeing it alone>"}'),
    ControlRoute("GET", "/_sandbox/walmart/orders/<purchaseOrderId>", "the order as Walmart sends it"),
    ControlRoute("POST", "/_sandbox/walmart/webhooks", "deliver ORDER_UPDATES notifications to this URL, signed",
                 '{"url": "https://…/webhooks/walmart/<account id>/", "secret": "…", "header": "X-Walmart-Signature"}'),
    ControlRoute("GET", "/_sandbox/walmart/webhooks", "the notifications delivered so far"),
    ControlRoute("DELETE", "/_sandbox/walmart/webhooks", "stop delivering notifications"),
    ControlRoute("POST", "/_sandbox/walmart/credentials", "accept only these client ids and secrets (empty: any)",
                 '{"client-id": "client-secret"}'),
    *(ControlRoute("POST", f"/_sandbox/walmart/orders/<purchaseOrderId>/{name}", verb.what, verb.body)
      for name, verb in WALMART_ORDER_VERBS.items()),
    ControlRoute("POST", "/_sandbox/amazon/orders", "sell Amazon orders; answers their AmazonOrderIds",
                 '{"count": 1, "items": 1, "qty": 1, "paid": true, "buyer_cancel": false, "price": "9.99", '
                 '"products": [["SKU", "title", "9.99"]], "seller": "<client id seeing it alone>"}'),
    ControlRoute("POST", "/_sandbox/amazon/feeds/process", "process every submitted feed now"),
    *(ControlRoute("POST", f"/_sandbox/amazon/orders/<AmazonOrderId>/{name}", verb.what, verb.body)
      for name, verb in AMAZON_ORDER_VERBS.items()),
]


AMAZON_PREFIXES = ("/auth/o2/", "/orders/", "/feeds/", "/_feeds/", "/tokens/")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle's algorithm the body then waits for the
    # client's delayed ACK (~40 ms a request on Linux), which made every sandbox call take 40 ms.
    disable_nagle_algorithm = True
    sandbox: Sandbox  # set on the subclass made by SandboxServer

    def setup(self) -> None:
        super().setup()
        self.server.open_connections.add(self.connection)

    def finish(self) -> None:
        super().finish()
        self.server.open_connections.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def _read_body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return None
        content_type = self.headers.get("Content-Type", "")
        if "json" in content_type:
            try:
                return json.loads(raw, parse_float=Decimal)
            except ValueError:
                raise ApiError(400, {"errors": {"error": [{"code": "MALFORMED_REQUEST_CONTENT.GMP_GATEWAY_API",
                                                           "description": "Request body is not valid JSON",
                                                           "severity": "ERROR", "category": "REQUEST"}]}}) from None
        return raw.decode("utf-8", errors="replace")

    def _dispatch(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        headers = dict(self.headers.items())
        try:
            body = self._read_body()
        except ApiError as bad:
            self._send(Response(status=bad.status, body=bad.body))
            return
        if url.path == "/_sandbox" or url.path.startswith("/_sandbox/"):
            self._send(self._answer(lambda: self.sandbox.control(self.command, url.path, body)))
            return

        record = self.sandbox.requests.add(RecordedRequest(self.command, url.path, query, headers, body))
        fault = self.sandbox.faults.take(self.command, url.path)
        if fault:
            record.fault = fault.kind
        if fault and not fault.applies_first:
            if fault.kind == "drop":
                self.close_connection = True
                return
            record.status = int(fault.kind)
            self._send(self._fault_response(fault, url.path))
            return

        response = self._answer(lambda: self.sandbox.route(self.command, url.path, query, headers, body))
        record.status = response.status
        if fault and fault.kind == "drop":
            self.close_connection = True
            return
        if fault and fault.kind == "timeout":
            time.sleep(fault.delay)
        if fault and fault.kind == "malformed":
            response = Response(status=200, body=b'{"order": {"purchaseOrderId": ', headers=response.headers)
        self._send(response)

    @staticmethod
    def _answer(call) -> Response:
        try:
            return call()
        except ApiError as refused:
            return Response(status=refused.status, body=refused.body, headers=refused.headers)
        except (TypeError, ValueError, KeyError) as bad:
            return Response(status=400, body={"errors": [{"code": "InvalidInput", "message": str(bad)}]})

    @staticmethod
    def _fault_response(fault, path: str) -> Response:
        if path.startswith(AMAZON_PREFIXES):
            if fault.kind == "429":
                return Response(status=429, body={"errors": [{"code": "QuotaExceeded", "message":
                                "You exceeded your quota for the requested resource.", "details": ""}]},
                                headers={"x-amzn-RateLimit-Limit": f"{1000 / max(fault.retry_after_ms, 1):.4f}"})
            if fault.kind == "400":
                return Response(status=400, body={"errors": [{"code": "InvalidInput", "message": "Invalid Input",
                                                              "details": "refused by the sandbox's fault plan"}]})
            return Response(status=int(fault.kind), body={"errors": [{"code": "InternalFailure", "message":
                            "We encountered an internal error. Please try again.", "details": ""}]})
        if fault.kind == "429":
            replenish = utcnow() + dt.timedelta(milliseconds=fault.retry_after_ms)
            return Response(
                status=429,
                body={"errors": {"error": [{"code": "REQUEST_THRESHOLD_VIOLATED.GMP_GATEWAY_API",
                                            "description": "Too many requests", "severity": "ERROR",
                                            "category": "REQUEST"}]}},
                headers={"X-Current-Token-Count": "0", "X-Next-Replenishment-Time": str(to_ms(replenish))},
            )
        if fault.kind == "400":
            return Response(status=400, body={"errors": {"error": [{
                "code": "INVALID_REQUEST_CONTENT.GMP_ORDER_API", "severity": "ERROR", "category": "DATA",
                "description": "Unable to process this request (refused by the sandbox's fault plan)"}]}})
        return Response(
            status=int(fault.kind),
            body={"errors": {"error": [{"code": "SYSTEM_ERROR.GMP_GATEWAY_API", "description": "Internal error",
                                        "severity": "ERROR", "category": "SYSTEM"}]}},
        )

    def _send(self, response: Response) -> None:
        payload = response.body if isinstance(response.body, bytes) else (
            dumps(response.body) if response.body is not None else b"")
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        try:
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (timeout fault)


class SandboxServer:
    """The sandbox on a port; port 0 picks a free one. Runs in a thread (tests) or in the foreground."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, sandbox: Sandbox | None = None) -> None:
        self.sandbox = sandbox or Sandbox()
        handler = type("SandboxHandler", (_Handler,), {"sandbox": self.sandbox})
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self.httpd.open_connections = set()  # kept-alive ones too: closed by stop()
        self._thread: threading.Thread | None = None
        self._publish_url()

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def _publish_url(self) -> None:
        self.sandbox.amazon.base_url = self.url  # pre-signed feed document URLs point back here

    def start(self) -> SandboxServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="sandbox", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def stop(self) -> None:
        """Stop answering, on kept-alive connections too (a client must not go on talking to a
        stopped sandbox's state while a new one serves the port)."""
        self.httpd.shutdown()
        self.httpd.server_close()
        for connection in list(self.httpd.open_connections):
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # closed meanwhile
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
