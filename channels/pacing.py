"""Pacing ahead of the channels' limits: a token bucket per account and operation, shared by every
worker of that account (Redis when configured, the database otherwise), started from the channels'
published default rates and bursts and corrected by the rate headers each answer carries.

A caller that would wait longer than CHANNEL_PACING_MAX_WAIT_SECONDS is not put to sleep: it gets
PacedChannelError (retryable, with the wait), so a worker never sits on one account's backlog while
another account's work is queued behind it; the outbox schedules the action for when the token is
there, and a read gives up this run. Each account has its own buckets, so one account's bulk work
spends only its own allowance. Bulk work (`taking_only_tokens_there`) does not wait at all: it takes a
token that is there or is put off, so it never sleeps on a worker an operator's click waits for, nor
reserves the next token ahead of the click, which may wait for it.

Published defaults (requests per second, burst):
- Amazon: the "Usage Plan" table in each operation's description in Amazon's
  selling-partner-api-models — models/orders-api-model/orders_2026-01-01.json (searchOrders 0.0056/20,
  getOrder 0.5/30), models/orders-api-model/ordersV0.json (getOrders 0.0167/20, getOrder and
  getOrderItems 0.5/30, confirmShipment 2/10), models/feeds-api-model/feeds_2021-06-30.json
  (createFeedDocument 0.5/15, createFeed 0.0083/15, getFeed 2/15, getFeedDocument 0.0222/10),
  models/tokens-api-model/tokens_2021-03-01.json (createRestrictedDataToken 1/10).
- Walmart publishes no per-operation table we could verify (developer.walmart.com/us-marketplace/docs/
  throttling says the limits "vary by API" and are replenished gradually, with X-Current-Token-Count
  and X-Next-Replenishment-Time on every answer). The numbers below are the per-minute allotments a
  third-party limiter quotes as Walmart's table (shared/CONTRACTS.md, Walmart §5: orders 5000/min,
  acknowledge and shipping 60/min, returns 50/min, return refunds 60/min, token 30/min); cancel and
  refund are not in that table and get the order-update allotment (60/min), an assumption. The
  headers then correct the bucket to what Walmart actually grants.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction

from .clients import RetryableChannelError

logger = logging.getLogger("channels.pacing")


@dataclass(frozen=True)
class Limit:
    rate: float  # requests per second
    burst: float


def per_minute(count: int) -> Limit:
    """Walmart's allotments: `count` a minute, all of them available at once, refilled gradually."""
    return Limit(rate=count / 60, burst=count)


AMAZON_LIMITS = {
    "searchOrders": Limit(0.0056, 20),
    "getOrder@2026-01-01": Limit(0.5, 30),
    "getOrders": Limit(0.0167, 20),
    "getOrder": Limit(0.5, 30),
    "getOrderItems": Limit(0.5, 30),
    "confirmShipment": Limit(2, 10),
    "createFeedDocument": Limit(0.5, 15),
    "createFeed": Limit(0.0083, 15),
    "getFeed": Limit(2, 15),
    "getFeedDocument": Limit(0.0222, 10),
    "createRestrictedDataToken": Limit(1, 10),
}
WALMART_LIMITS = {
    "orders": per_minute(5000),
    "order": per_minute(5000),
    "acknowledge": per_minute(60),
    "shipping": per_minute(60),
    "cancel": per_minute(60),
    "refund": per_minute(60),
    "returns": per_minute(50),
    "returnRefund": per_minute(60),
    "token": per_minute(30),
}


# We refill a little slower than the channel: its clock measures our requests' arrivals, which
# network jitter brings closer together than we sent them.
HEADROOM = 0.9


class PacedChannelError(RetryableChannelError):
    """The next request of this operation would go over the channel's limit: nothing was sent."""


# -- where the buckets live ------------------------------------------------------------------------

# KEYS[1] the bucket; ARGV: rate, burst, max_wait, mode ("take" | "cap" | "rate"), value.
# Redis' own clock, so workers on several hosts agree.
_REDIS_SCRIPT = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1e6
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at', 'rate')
local burst = tonumber(ARGV[2])
local rate = tonumber(state[3]) or tonumber(ARGV[1])
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local mode = ARGV[4]
local wait = 0
if mode == 'take' then
  if tokens < 1 then wait = (1 - tokens) / rate end
  if wait <= tonumber(ARGV[3]) then tokens = tokens - 1 end
elseif mode == 'cap' then
  tokens = math.min(tokens, tonumber(ARGV[5]))
elseif mode == 'rate' then
  rate = tonumber(ARGV[5])
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', now, 'rate', rate)
redis.call('EXPIRE', KEYS[1], 86400)
return tostring(wait)
"""


def _step(tokens: float, at: float, rate: float, burst: float, now: float, mode: str, value: float,
          max_wait: float) -> tuple[float, float, float]:
    """The bucket after one step, in Python (the database store); the same rules as the Lua script."""
    tokens = min(burst, tokens + max(0.0, now - at) * rate)
    wait = 0.0
    if mode == "take":
        wait = (1 - tokens) / rate if tokens < 1 else 0.0
        if wait <= max_wait:
            tokens -= 1
    elif mode == "cap":
        tokens = min(tokens, value)
    elif mode == "rate":
        rate = value
    return tokens, rate, wait


class RedisBuckets:
    def __init__(self, url: str) -> None:
        import redis

        self._client = redis.Redis.from_url(url)
        self._script = self._client.register_script(_REDIS_SCRIPT)

    def step(self, key: str, operation: str, limit: Limit, *, mode: str, value: float = 0.0,
             max_wait: float = 0.0) -> float:
        return float(self._script(keys=[f"pace:{key}:{operation}"],
                                  args=[limit.rate, limit.burst, max_wait, mode, value]))


class DatabaseBuckets:
    """One row per bucket, changed under its row lock (SQLite: the IMMEDIATE transaction's lock)."""

    def step(self, key: str, operation: str, limit: Limit, *, mode: str, value: float = 0.0,
             max_wait: float = 0.0) -> float:
        from .models import PaceBucket

        now = time.time()
        for _attempt in range(2):
            try:
                with transaction.atomic():
                    bucket = PaceBucket.objects.select_for_update().filter(account_key=key, operation=operation).first()
                    if bucket is None:
                        bucket = PaceBucket.objects.create(account_key=key, operation=operation, tokens=limit.burst,
                                                           updated=now, rate=limit.rate, burst=limit.burst)
                    tokens, rate, wait = _step(bucket.tokens, bucket.updated, bucket.rate, limit.burst, now, mode,
                                               value, max_wait)
                    PaceBucket.objects.filter(pk=bucket.pk).update(tokens=tokens, updated=now, rate=rate,
                                                                   burst=limit.burst)
                    return wait
            except IntegrityError:  # another worker created the row first: use it
                continue
        raise RuntimeError(f"pace bucket {key} {operation} could not be read")


_buckets: RedisBuckets | DatabaseBuckets | None = None


def shared_buckets() -> RedisBuckets | DatabaseBuckets:
    global _buckets
    if _buckets is None:
        url = settings.REDIS_URL or (settings.CELERY_BROKER_URL
                                     if settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://")) else "")
        _buckets = RedisBuckets(url) if url else DatabaseBuckets()
    return _buckets


# -- the pacer a client holds ------------------------------------------------------------------------

_waits_for_tokens: ContextVar[bool] = ContextVar("pacing_waits_for_tokens", default=True)


@contextmanager
def taking_only_tokens_there() -> Iterator[None]:
    """Requests made inside take a token that is there, or get PacedChannelError at once."""
    token = _waits_for_tokens.set(False)
    try:
        yield
    finally:
        _waits_for_tokens.reset(token)


class Pacer:
    """The pacing of one account's requests; `limits` are the channel's published defaults."""

    def __init__(self, *, account_key: str, limits: dict[str, Limit], label: str,
                 buckets: RedisBuckets | DatabaseBuckets | None = None) -> None:
        self.account_key = account_key
        self.limits = limits
        self.label = label
        self._buckets = buckets

    @property
    def buckets(self) -> RedisBuckets | DatabaseBuckets:
        return self._buckets or shared_buckets()

    def _on(self, operation: str) -> Limit | None:
        limit = self.limits.get(operation) if settings.CHANNEL_PACING else None
        return Limit(rate=limit.rate * HEADROOM, burst=limit.burst) if limit else None

    def before(self, operation: str) -> None:
        """Take this operation's token: at once, after a short sleep, or PacedChannelError."""
        limit = self._on(operation)
        if limit is None:
            return
        max_wait = settings.CHANNEL_PACING_MAX_WAIT_SECONDS if _waits_for_tokens.get() else 0.0
        wait = self.buckets.step(self.account_key, operation, limit, mode="take", max_wait=max_wait)
        if wait > max_wait:
            raise PacedChannelError(
                f"{self.label} {operation}: held back to stay within the channel's limit; "
                f"next request allowed in {wait:.0f}s", retry_after=wait, code="paced")
        if wait > 0:
            time.sleep(wait)

    def observe_rate(self, operation: str, rate: float) -> None:
        """Amazon's x-amzn-RateLimit-Limit: the rate this account is actually granted."""
        limit = self._on(operation)
        if limit is not None and rate > 0:
            self.buckets.step(self.account_key, operation, limit, mode="rate", value=rate * HEADROOM)

    def observe_tokens(self, operation: str, *, left: float, replenished_in: float | None = None) -> None:
        """Walmart's X-Current-Token-Count (and, when none is left, X-Next-Replenishment-Time)."""
        limit = self._on(operation)
        if limit is None:
            return
        if left <= 0 and replenished_in:
            left = 1 - replenished_in * limit.rate  # the next token arrives at the replenishment time
        self.buckets.step(self.account_key, operation, limit, mode="cap", value=left)

    def throttled(self, operation: str, *, retry_after: float | None) -> float | None:
        """The channel answered 429: empty the bucket (until `retry_after`, when it said) and
        return how long to wait before the next try (None: the caller's own backoff)."""
        limit = self._on(operation)
        if limit is None:
            return retry_after
        wait = retry_after if retry_after is not None else 1 / limit.rate
        self.buckets.step(self.account_key, operation, limit, mode="cap", value=1 - wait * limit.rate)
        return wait


def reset_shared_buckets() -> None:
    """Forget the store chosen (tests switching settings)."""
    global _buckets
    _buckets = None
