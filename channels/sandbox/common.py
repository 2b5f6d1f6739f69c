"""What the channel sides of the sandbox share: errors, faults, the request record, time helpers."""

from __future__ import annotations

import copy
import datetime as dt
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def to_ms(value: dt.datetime) -> int:
    return int(value.timestamp() * 1000)


def money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


class KeptBetweenRuns:
    """A marketplace whose state the demo keeps in a file between runs (Sandbox.save / load): all
    of it but what `TRANSIENT` names (its lock, its caches), which is made anew when loaded."""

    TRANSIENT: dict[str, Any] = {"lock": threading.RLock}

    def __getstate__(self) -> dict[str, Any]:
        return {name: value for name, value in self.__dict__.items() if name not in self.TRANSIENT}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        for name, make in self.TRANSIENT.items():
            setattr(self, name, make())


class ApiError(Exception):
    """An error answer: HTTP status plus the channel-shaped body."""

    def __init__(self, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}


@dataclass
class Response:
    status: int = 200
    body: Any = None  # dict → JSON; bytes → as is; None → empty
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


FAULT_KINDS = ("400", "429", "500", "503", "timeout", "drop", "malformed")


@dataclass
class Fault:
    """One injected failure, consumed by the next `count` matching requests.

    - 400: refused for good, as the channel refuses a request for a reason of its own that the seller
      cannot check beforehand; answered before anything is applied;
    - 429 / 500 / 503: answered before anything is applied;
    - timeout: applied, then the answer is held back `delay` seconds (past the client's timeout);
    - drop: the connection is closed without an answer, before or after applying (`when`);
    - malformed: applied, answered 200 with a body that is not JSON.
    """

    kind: str
    path: str = ""  # regular expression searched in the path
    method: str = ""
    count: int = 1
    when: str = "after"  # for drop: "before" | "after"
    delay: float = 3.0
    retry_after_ms: int = 1000

    def __post_init__(self) -> None:
        # Faults posted through the control API arrive as JSON numbers (Decimal) or strings: fix
        # their types here, so a bad value is refused when posted and never crashes a handler later.
        try:
            self.count = int(self.count)
            self.delay = float(self.delay)
            self.retry_after_ms = int(self.retry_after_ms)
        except (TypeError, ValueError):
            raise ValueError("count, delay and retry_after_ms must be numbers") from None
        if self.count < 1 or self.delay < 0 or self.retry_after_ms < 0:
            raise ValueError("count must be at least 1; delay and retry_after_ms cannot be negative")
        if self.when not in ("before", "after"):
            raise ValueError("when must be 'before' or 'after'")

    def matches(self, method: str, path: str) -> bool:
        return (not self.method or self.method.upper() == method) and re.search(self.path, path) is not None

    @property
    def applies_first(self) -> bool:
        return self.kind in ("timeout", "malformed") or (self.kind == "drop" and self.when == "after")


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    status: int | None = None
    fault: str = ""
    at: dt.datetime = field(default_factory=utcnow)


class FaultPlan:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, **spec: Any) -> Fault:
        if spec.get("kind") not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {spec.get('kind')!r}; one of {', '.join(FAULT_KINDS)}")
        fault = Fault(**spec)
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.count > 0 and fault.matches(method, path):
                    fault.count -= 1
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[Fault]:
        with self._lock:
            return [fault for fault in self._faults if fault.count > 0]


class RequestLog:
    SECRET_HEADERS = {"authorization", "wm_sec.access_token", "x-amz-access-token"}
    SECRET_FORM_FIELDS = {"client_secret", "refresh_token"}

    def __init__(self) -> None:
        self._items: list[RecordedRequest] = []
        self._lock = threading.Lock()

    def add(self, item: RecordedRequest) -> RecordedRequest:
        item.headers = {k: ("***" if k.lower() in self.SECRET_HEADERS else v) for k, v in item.headers.items()}
        if isinstance(item.body, str) and any(f"{name}=" in item.body for name in self.SECRET_FORM_FIELDS):
            form = urllib.parse.parse_qsl(item.body, keep_blank_values=True)
            item.body = urllib.parse.urlencode(
                [(k, "***" if k in self.SECRET_FORM_FIELDS else v) for k, v in form])
        with self._lock:
            self._items.append(item)
        return item

    def all(self, *, method: str = "", path: str = "") -> list[RecordedRequest]:
        with self._lock:
            items = list(self._items)
        return [
            item
            for item in items
            if (not method or item.method == method.upper()) and (not path or re.search(path, item.path))
        ]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def malform(document: Any, changes: dict[str, Any], removals: list[str]) -> Any:
    """The document as a channel with a bug would send it: `changes` set values at dotted paths
    ("orderLines.orderLine.0.lineNumber"; "" is the whole document) and `removals` delete keys.
    Used to put one malformed order in a listing page (tests, the control API)."""
    document = copy.deepcopy(document)
    for path, value in changes.items():
        if path == "":
            document = value
            continue
        parent, key = _walk(document, path)
        parent[key] = value
    for path in removals:
        parent, key = _walk(document, path)
        del parent[key]
    return document


def _walk(document: Any, path: str) -> tuple[Any, Any]:
    *steps, last = path.split(".")
    node = document
    for step in steps:
        node = node[int(step)] if isinstance(node, list) else node[step]
    return node, int(last) if isinstance(node, list) else last


class RateLimits:
    """The channel's own throttling: a token bucket per caller (its client id) and operation, with the
    channel's published default rate (requests per second) and burst. `enabled` is on by default, as on
    the real channel; tests that do not test throttling switch it off to run fast."""

    def __init__(self, limits: dict[str, tuple[float, float]]) -> None:
        self.limits = dict(limits)  # this marketplace's own: a test may change one
        self.enabled = True
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}  # → (tokens, at)
        self._lock = threading.Lock()

    def take(self, caller: str, operation: str) -> tuple[bool, float, float]:
        """(allowed, tokens left, seconds until the next token) for one request, or allowed with
        nothing known when the operation has no limit or limits are off."""
        limit = self.limits.get(operation)
        if limit is None or not self.enabled:
            return True, -1.0, 0.0
        rate, burst = limit
        now = time.monotonic()
        with self._lock:
            tokens, at = self._buckets.get((caller, operation), (burst, now))
            tokens = min(burst, tokens + (now - at) * rate)
            allowed = tokens >= 1
            if allowed:
                tokens -= 1
            self._buckets[(caller, operation)] = (tokens, now)
        return allowed, tokens, 0.0 if tokens >= 1 else (1 - tokens) / rate

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()
