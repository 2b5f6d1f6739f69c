"""HTTP plumbing every channel client shares: a pooled requests.Session with timeouts, and the
mapping of transport failures to the errors of channels.clients."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from .clients import ChannelError, PermanentChannelError, RetryableChannelError

logger = logging.getLogger("channels.http")
DEFAULT_TIMEOUT = (3.05, 20)  # connect, read (seconds)


class TokenCache:
    """An access token fetched on demand and reused until shortly before it expires.
    `fetch` returns (token, lifetime in seconds)."""

    def __init__(self, fetch: Callable[[], tuple[str, int]], *, refresh_margin: float) -> None:
        self._fetch = fetch
        self._margin = refresh_margin
        self._token, self._expires = "", 0.0
        self._lock = threading.Lock()

    def get(self) -> str:
        with self._lock:
            if not self._token or time.monotonic() >= self._expires - self._margin:
                self._token, lifetime = self._fetch()
                self._expires = time.monotonic() + lifetime
            return self._token

    def clear(self) -> None:
        with self._lock:
            self._token = ""


_check_before_mutation: ContextVar[Callable[[], None] | None] = ContextVar("check_before_mutation", default=None)


@contextmanager
def checked_before_each_mutation(check: Callable[[], None]) -> Iterator[None]:
    """Run `check` right before each request that changes something goes on the wire: after the
    pacing wait and the token fetch a client does first, which may take seconds. The outbox checks
    its claim there, so a worker that lost its claim while it waited sends nothing (`check` raises)."""
    token = _check_before_mutation.set(check)
    try:
        yield
    finally:
        _check_before_mutation.reset(token)


def make_session(pool_size: int = 10) -> requests.Session:
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    mutation: bool,
    timeout: tuple[float, float],
    describe: str,
    **kwargs: Any,
) -> requests.Response:
    """One HTTP call. Transport failures become RetryableChannelError, ambiguous when the request
    may have reached the channel and changed something (`mutation`)."""
    check = _check_before_mutation.get() if mutation else None
    if check is not None:
        check()
    try:
        return session.request(method, url, timeout=timeout, **kwargs)
    except requests.ConnectTimeout:
        raise RetryableChannelError(f"{describe}: could not connect (timeout)") from None
    except requests.ReadTimeout:
        raise RetryableChannelError(f"{describe}: no answer in time", ambiguous=mutation) from None
    except requests.ConnectionError as failure:
        never_sent = "NewConnectionError" in repr(failure) or "Connection refused" in repr(failure)
        raise RetryableChannelError(
            f"{describe}: connection failed", ambiguous=mutation and not never_sent
        ) from None
    except requests.RequestException as failure:
        raise RetryableChannelError(f"{describe}: {type(failure).__name__}", ambiguous=mutation) from None


def parse_json(response: requests.Response, *, mutation: bool, describe: str) -> Any:
    if not response.content:
        return None
    try:
        return json.loads(response.content, parse_float=Decimal)
    except ValueError:
        raise RetryableChannelError(f"{describe}: unreadable answer from the channel", ambiguous=mutation) from None


def raise_for_status(
    response: requests.Response,
    *,
    mutation: bool,
    describe: str,
    error_text: Callable[[Any], tuple[str, str]],
    retry_after: Callable[[requests.Response], float | None],
) -> None:
    """Map an HTTP error answer to our errors; `error_text` pulls (code, message) out of the
    channel's error body."""
    if response.status_code < 400:
        return
    try:
        body = json.loads(response.content) if response.content else None
    except ValueError:
        body = None
    code, message = error_text(body) if body else ("", "")
    text = f"{describe}: HTTP {response.status_code}" + (f" {code}" if code else "") + (f": {message}" if message else "")
    if response.status_code == 429:
        raise RetryableChannelError(text, retry_after=retry_after(response), code=code, status=429)
    if response.status_code >= 500:
        # A server error after the request arrived may have applied part of it.
        raise RetryableChannelError(text, ambiguous=mutation, code=code, status=response.status_code)
    if response.status_code in (408, 423):
        raise RetryableChannelError(text, code=code, status=response.status_code)
    raise PermanentChannelError(text, code=code, status=response.status_code)


__all__ = ["ChannelError", "TokenCache", "make_session", "send", "parse_json", "raise_for_status", "DEFAULT_TIMEOUT"]
