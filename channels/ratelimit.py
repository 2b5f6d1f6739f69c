"""How long a channel asks us to wait after throttling us, and the retries of reads that honour it.
Kept in one module so mutation testing (`make mutation`) covers exactly the rate-limit code."""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
from collections.abc import Callable
from typing import TypeVar

import requests

from .clients import RetryableChannelError

logger = logging.getLogger("channels.http")


def walmart_retry_after(response: requests.Response) -> float | None:
    """X-Next-Replenishment-Time: epoch ms, epoch s or ISO time (third parties report all three)."""
    value = response.headers.get("X-Next-Replenishment-Time", "").strip()
    if not value:
        return None
    now = time.time()
    try:
        number = float(value)
        at = number / 1000 if number > 1e11 else number if number > 1e9 else now + number
    except ValueError:
        try:
            at = dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return max(0.0, at - now)


def amazon_rate(response: requests.Response) -> float | None:
    """x-amzn-RateLimit-Limit: the requests per second granted for the operation, when readable."""
    try:
        rate = float(response.headers.get("x-amzn-RateLimit-Limit", ""))
    except ValueError:
        return None
    return rate if rate > 0 and math.isfinite(rate) else None


def amazon_retry_after(response: requests.Response) -> float | None:
    """x-amzn-RateLimit-Limit is requests per second: wait one request's worth."""
    rate = amazon_rate(response)
    return 1 / rate if rate else None


def walmart_tokens_left(response: requests.Response) -> float | None:
    """X-Current-Token-Count: the requests Walmart still allows in the current window."""
    try:
        return float(response.headers.get("X-Current-Token-Count", ""))
    except ValueError:
        return None


T = TypeVar("T")
READ_ATTEMPTS = 3
READ_MAX_WAIT = 10.0  # seconds; a longer wait asked by the channel ends the read (the caller retries later)


def retry_reads(call: Callable[[], T], *, attempts: int = READ_ATTEMPTS) -> T:
    """Reads change nothing, so a throttled or failed read is tried again here, waiting as long as
    the channel asked (or a short backoff). Writes are not: the outbox owns their retries."""
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except RetryableChannelError as failure:
            wait = failure.retry_after if failure.retry_after is not None else 0.2 * 2**attempt
            if attempt == attempts or wait > READ_MAX_WAIT:
                raise
            logger.info("%s; reading again in %.1fs", failure.message, wait)
            time.sleep(wait)
    raise AssertionError("unreachable")
