"""Throttling (R-REL): the wait a channel asks for is read from its own header and honoured by the
outbox and by read retries — Walmart's X-Next-Replenishment-Time, Amazon's x-amzn-RateLimit-Limit."""

import datetime as dt
import time

import pytest
import requests
from django.utils import timezone

from channels.clients import RetryableChannelError
from channels.ratelimit import (READ_MAX_WAIT, amazon_rate, amazon_retry_after, retry_reads, walmart_retry_after,
                                walmart_tokens_left)
from orders import outbox
from orders.models import ChannelAction, Order, OrderLog
from orders.services.importing import ImportFailed, account_import_orders
from orders.services.shipments import Tracking, order_ship
from tests.helpers import ups_tracking

UPS = Tracking(carrier="UPS", tracking_number=ups_tracking(8))


def answer(**headers: str) -> requests.Response:
    response = requests.Response()
    response.status_code = 429
    response.headers.update(headers)
    return response


@pytest.mark.parametrize(("header", "wait"), [
    (lambda now: str(int((now + 30) * 1000)), 30),  # epoch milliseconds (Walmart's documented form)
    (lambda now: str(int(now + 30)), 30),  # epoch seconds
    (lambda now: dt.datetime.fromtimestamp(now + 30, dt.UTC).isoformat().replace("+00:00", "Z"), 30),
    (lambda now: "12", 12),  # a relative number of seconds
    (lambda now: str(int((now - 60) * 1000)), 0),  # already replenished: no wait, never a negative one
])
def test_walmart_wait_comes_from_x_next_replenishment_time(header, wait):
    assert walmart_retry_after(answer(**{"X-Next-Replenishment-Time": header(time.time())})) == pytest.approx(wait, abs=1.5)


@pytest.mark.parametrize("value", ["", "soon", "2026-13-45T99:00:00Z"])
def test_walmart_unreadable_replenishment_time_asks_no_wait(value):
    assert walmart_retry_after(answer(**{"X-Next-Replenishment-Time": value})) is None


@pytest.mark.parametrize(("value", "wait"), [("0.5", 2.0), ("0.0167", 1 / 0.0167), ("10", 0.1), ("0", None),
                                             ("-1", None), ("", None), ("fast", None)])
def test_amazon_wait_is_one_request_at_the_x_amzn_ratelimit_limit_rate(value, wait):
    result = amazon_retry_after(answer(**{"x-amzn-RateLimit-Limit": value}))
    assert result == (pytest.approx(wait) if wait is not None else None)


@pytest.mark.parametrize(("value", "wait"), [
    ("100000000000", 1e11),  # not above 1e11: epoch seconds (far off), not milliseconds
    ("100000000000.5", 0),  # just above: milliseconds (1973), long past
    ("1000000000", 1e9),  # not above 1e9: a relative number of seconds
    ("1000000000.5", 0),  # just above: epoch seconds (2001), long past
])
def test_walmart_replenishment_time_reads_each_form_from_its_bound(value, wait):
    """Where milliseconds, epoch seconds and relative seconds meet (mutants moved these bounds)."""
    assert walmart_retry_after(answer(**{"X-Next-Replenishment-Time": value})) == pytest.approx(
        wait - (time.time() if wait > 1e10 else 0), abs=2)


@pytest.mark.parametrize(("value", "rate"), [("0.5", 0.5), ("0", None), ("-2", None), ("inf", None), ("", None)])
def test_amazon_rate_is_a_positive_finite_number_or_nothing(value, rate):
    """A zero rate would stop an operation's pacing bucket for ever."""
    assert amazon_rate(answer(**{"x-amzn-RateLimit-Limit": value})) == rate


@pytest.mark.parametrize(("value", "left"), [("7", 7.0), ("0", 0.0), ("", None), ("many", None)])
def test_walmart_tokens_left_come_from_x_current_token_count(value, left):
    assert walmart_tokens_left(answer(**{"X-Current-Token-Count": value})) == left


def test_a_throttled_answer_without_the_header_asks_no_wait():
    assert walmart_retry_after(answer()) is None
    assert amazon_retry_after(answer()) is None


def test_walmart_replenished_already_asks_no_wait_at_all():
    past = str(int((time.time() - 60) * 1000))
    assert walmart_retry_after(answer(**{"X-Next-Replenishment-Time": past})) == 0.0


# -- the outbox waits at least as long as the channel asked ------------------------------------------

def _throttled_once(action: ChannelAction) -> float:
    """Seconds until the action's next attempt, after one attempt answered 429."""
    outbox.process_due_actions()
    action.refresh_from_db()
    assert action.state == ChannelAction.State.PENDING
    assert action.attempts == 1 and "429" in action.last_error
    return (action.next_attempt_at - timezone.now()).total_seconds()


@pytest.mark.django_db
def test_r_rel_walmart_throttled_action_waits_for_replenishment(sandbox, wm_account, fast_retries):
    """Our own backoff is milliseconds here (fast_retries): only Walmart's header explains 3 s."""
    [po] = sandbox.walmart.create_orders(count=1)
    account_import_orders(account_id=wm_account.pk)
    order = Order.objects.get(channel_order_id=po)
    sandbox.faults.add(kind="429", path="/shipping$", retry_after_ms=3000)
    order_ship(order_id=order.pk, tracking=UPS)

    wait = _throttled_once(ChannelAction.objects.get(order=order, kind="ship"))
    assert 2.0 < wait <= 3.5
    assert OrderLog.objects.filter(order=order, message__contains="trying again in 3s at the earliest").exists()


@pytest.mark.django_db
def test_r_rel_amazon_throttled_action_waits_one_request_at_the_given_rate(sandbox, az_account, fast_retries):
    [order_id] = sandbox.amazon.create_orders(count=1)
    account_import_orders(account_id=az_account.pk)
    order = Order.objects.get(channel_order_id=order_id)
    sandbox.faults.add(kind="429", path="/shipmentConfirmation$", retry_after_ms=2500)  # rate 0.4/s
    order_ship(order_id=order.pk, tracking=UPS)

    wait = _throttled_once(ChannelAction.objects.get(order=order, kind="ship"))
    assert 1.8 < wait <= 2.6


def test_backoff_is_never_sooner_than_the_channel_asked(settings):
    settings.CHANNEL_ACTION_BACKOFF_BASE, settings.CHANNEL_ACTION_BACKOFF_CAP = 2.0, 60.0
    for attempt in range(1, 8):
        ceiling = min(60.0, 2.0 * 2 ** (attempt - 1))
        assert ceiling / 2 <= outbox.backoff_seconds(attempt=attempt) <= ceiling
        assert outbox.backoff_seconds(attempt=attempt, retry_after=100.0) == 100.0
        assert ceiling / 2 <= outbox.backoff_seconds(attempt=attempt, retry_after=0.0) <= ceiling


# -- reads retry after the asked wait, and give up at once when it is too long ----------------------

class Throttled:
    def __init__(self, waits: list[float | None]) -> None:
        self.waits, self.calls = list(waits), []

    def __call__(self) -> str:
        self.calls.append(time.monotonic())
        if self.waits:
            raise RetryableChannelError("HTTP 429", retry_after=self.waits.pop(0), status=429)
        return "read"


def test_read_retries_wait_as_asked():
    read = Throttled([0.6, 0.0])
    assert retry_reads(read) == "read"
    assert len(read.calls) == 3
    assert 0.6 <= read.calls[1] - read.calls[0] < 1.5  # asked 0.6 s (our own backoff would be 0.4 s)
    assert read.calls[2] - read.calls[1] < 0.3  # asked no wait: none


def test_read_retries_back_off_when_the_channel_names_no_wait():
    read = Throttled([None])
    assert retry_reads(read) == "read"
    assert 0.3 <= read.calls[1] - read.calls[0] < 1.0


def test_read_retries_stop_after_the_last_attempt_and_on_a_wait_too_long():
    with pytest.raises(RetryableChannelError):
        retry_reads(Throttled([0.0, 0.0, 0.0]))
    too_long = Throttled([READ_MAX_WAIT + 1])
    with pytest.raises(RetryableChannelError):
        retry_reads(too_long)
    assert len(too_long.calls) == 1


def test_read_retries_double_their_own_wait_and_wait_the_longest_allowed(monkeypatch):
    """0.4, 0.8, 1.6 s between reads when the channel names no wait; a wait of exactly the
    longest allowed is waited, not given up on. (time.sleep recorded, not slept.)"""
    slept = []
    monkeypatch.setattr(time, "sleep", slept.append)
    assert retry_reads(Throttled([None, None, None]), attempts=4) == "read"
    assert slept == pytest.approx([0.4, 0.8, 1.6])
    slept.clear()
    assert retry_reads(Throttled([READ_MAX_WAIT])) == "read"
    assert slept == [READ_MAX_WAIT]


@pytest.mark.django_db
def test_throttled_import_reads_again_after_replenishment(sandbox, wm_account):
    sandbox.walmart.create_orders(count=1)
    sandbox.faults.add(kind="429", path="^/v3/orders$", method="GET", retry_after_ms=1200)
    account_import_orders(account_id=wm_account.pk)
    first, second = sandbox.requests.all(method="GET", path="^/v3/orders$")[:2]
    assert (second.at - first.at).total_seconds() >= 1.0
    assert Order.objects.filter(account=wm_account).count() == 1


@pytest.mark.django_db
def test_import_gives_up_at_once_when_walmart_asks_for_a_long_wait(sandbox, wm_account):
    sandbox.walmart.create_orders(count=1)
    sandbox.faults.add(kind="429", path="^/v3/orders$", method="GET", retry_after_ms=int((READ_MAX_WAIT + 5) * 1000))
    with pytest.raises(ImportFailed):
        account_import_orders(account_id=wm_account.pk)
    assert len(sandbox.requests.all(method="GET", path="^/v3/orders$")) == 1
