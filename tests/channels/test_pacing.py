"""Pacing (issue 12 §2): a token bucket per account and operation at the channels' published default
rate and burst, shared by every worker (Redis or the database), corrected by the channels' rate
headers; the sandbox enforces the same limits, so pacing shows as no 429 at all."""

import time

import pytest
import requests
from django.utils import timezone

from channels.pacing import (AMAZON_LIMITS, WALMART_LIMITS, DatabaseBuckets, Limit, Pacer, PacedChannelError,
                             RedisBuckets)
from orders import outbox
from orders.models import ChannelAction, Order, OrderLog
from orders.services.importing import account_import_orders
from orders.services.shipments import Tracking, order_ship
from tests.helpers import ups_tracking

pytestmark = pytest.mark.django_db
LIMIT = Limit(rate=10.0, burst=3)


def _pacer(buckets, key="acct:1", **limits):
    return Pacer(account_key=key, limits=limits or {"op": LIMIT}, label="Test", buckets=buckets)


def _burst_then_paced(pacer) -> float:
    started = time.monotonic()
    for _ in range(5):  # 3 at once, then one per 0.1 s
        pacer.before("op")
    return time.monotonic() - started


@pytest.fixture(params=["database", pytest.param("redis", marks=pytest.mark.redis)])
def buckets(request, settings):
    settings.CHANNEL_PACING = True
    settings.CHANNEL_PACING_MAX_WAIT_SECONDS = 1.0
    if request.param == "database":
        return DatabaseBuckets()
    store = RedisBuckets(settings.REDIS_URL)
    store._client.delete(*[key for key in store._client.scan_iter("pace:acct:*")] or ["pace:none"])
    return store


def test_a_burst_goes_at_once_then_requests_are_paced_at_the_rate(buckets):
    assert 0.15 < _burst_then_paced(_pacer(buckets)) < 0.6


def test_a_long_wait_is_refused_with_its_delay_and_takes_nothing(buckets, settings):
    settings.CHANNEL_PACING_MAX_WAIT_SECONDS = 0.05
    pacer = _pacer(buckets, op=Limit(rate=0.5, burst=1))
    pacer.before("op")
    with pytest.raises(PacedChannelError) as paced:
        pacer.before("op")
    assert 1.9 < paced.value.retry_after <= 2.3 and paced.value.code == "paced"  # 1 per 2 s, less headroom
    with pytest.raises(PacedChannelError) as again:  # the refused request spent nothing
        pacer.before("op")
    assert again.value.retry_after <= paced.value.retry_after


def test_accounts_have_their_own_buckets_and_workers_of_one_account_share_one(buckets, settings):
    settings.CHANNEL_PACING_MAX_WAIT_SECONDS = 0.01
    busy, other = _pacer(buckets, key="acct:busy"), _pacer(buckets, key="acct:other")
    second_worker = _pacer(buckets, key="acct:busy")
    for _ in range(3):
        busy.before("op")
    with pytest.raises(PacedChannelError):
        second_worker.before("op")  # the same account, another process: the same bucket
    other.before("op")  # another account is not held back by the busy one


def test_rate_headers_correct_the_bucket(buckets, settings):
    settings.CHANNEL_PACING_MAX_WAIT_SECONDS = 0.01
    pacer = _pacer(buckets)
    pacer.observe_tokens("op", left=0, replenished_in=5.0)  # Walmart: none left until then
    with pytest.raises(PacedChannelError) as paced:
        pacer.before("op")
    assert 4.0 < paced.value.retry_after <= 5.0
    amazon = _pacer(buckets, key="acct:amazon")
    amazon.observe_rate("op", 0.25)  # x-amzn-RateLimit-Limit: slower than the default
    for _ in range(3):
        amazon.before("op")
    with pytest.raises(PacedChannelError) as slower:
        amazon.before("op")
    assert 3.5 < slower.value.retry_after <= 4.5  # one token per 4 s now (less our headroom)


def test_published_defaults_are_those_of_the_models():
    assert AMAZON_LIMITS["searchOrders"] == Limit(0.0056, 20) and AMAZON_LIMITS["confirmShipment"] == Limit(2, 10)
    assert AMAZON_LIMITS["createFeed"] == Limit(0.0083, 15) and AMAZON_LIMITS["getOrderItems"] == Limit(0.5, 30)
    assert WALMART_LIMITS["shipping"] == Limit(1, 60) and WALMART_LIMITS["orders"].burst == 5000


# -- against the sandbox with its real limits ----------------------------------------------------------

def test_the_sandbox_throttles_at_the_published_burst(real_limits, sandbox_url):
    form = {"grant_type": "refresh_token", "refresh_token": "r", "client_id": "c", "client_secret": "s"}
    token = requests.post(f"{sandbox_url}/auth/o2/token", data=form).json()["access_token"]
    [order_id] = real_limits.amazon.create_orders(count=1)
    answers = [requests.post(f"{sandbox_url}/orders/v0/orders/{order_id}/shipmentConfirmation",
                             headers={"x-amz-access-token": token}, json={}).status_code for _ in range(12)]
    assert answers[:10] == [400] * 10 and answers[10:] == [429, 429]  # burst 10, then throttled
    real_limits.enforce_limits(False)
    assert requests.post(f"{sandbox_url}/orders/v0/orders/{order_id}/shipmentConfirmation",
                         headers={"x-amz-access-token": token}, json={}).status_code == 400


def test_shipping_past_the_burst_is_paced_and_never_throttled(real_limits, az_account, settings):
    """14 confirmShipment calls at Amazon's 2/s with burst 10: the last four wait ~0.5 s each, and the
    sandbox, enforcing the same limit, answers none of them 429."""
    settings.CHANNEL_PACING_MAX_WAIT_SECONDS = 1.0
    az_account.create_store_order = False
    az_account.save()
    ids = real_limits.amazon.create_orders(count=14)
    account_import_orders(account_id=az_account.pk)
    for order in Order.objects.filter(channel_order_id__in=ids):
        order_ship(order_id=order.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(order.pk)))
    started = time.monotonic()
    while outbox.process_due_actions():
        pass
    states = list(ChannelAction.objects.values_list("state", "last_error"))
    assert states == [(ChannelAction.State.SUCCEEDED, "")] * 14, states
    assert not [r for r in real_limits.requests.all() if r.status == 429]
    assert time.monotonic() - started > 1.5  # paced: 4 requests past the burst at 2/s


def test_the_clients_pace_by_the_headers_the_channels_send(sandbox, wm_account, az_account, settings):
    """Walmart's 429 with X-Next-Replenishment-Time empties the account's bucket until then: the next
    call is held back without reaching Walmart. Amazon's x-amzn-RateLimit-Limit sets the bucket's rate."""
    from channels.models import PaceBucket
    from channels.pacing import reset_shared_buckets
    from channels.registry import client_for

    settings.CHANNEL_PACING, settings.REDIS_URL, settings.CELERY_BROKER_URL = True, "", "memory://"
    reset_shared_buckets()  # the database store, whose rows this test reads
    [po] = sandbox.walmart.create_orders(count=1)
    sandbox.faults.add(kind="429", path=f"/v3/orders/{po}$", retry_after_ms=30_000)
    walmart = client_for(wm_account)
    with pytest.raises(Exception, match="429"):
        walmart.get_order(po)
    sent = len(sandbox.requests.all(path=f"/v3/orders/{po}$"))
    with pytest.raises(PacedChannelError) as paced:
        walmart.get_order(po)
    assert 25 < paced.value.retry_after <= 30 and len(sandbox.requests.all(path=f"/v3/orders/{po}$")) == sent

    [order_id] = sandbox.amazon.create_orders(count=1)
    sandbox.amazon.limits.limits["getOrder@2026-01-01"] = (0.25, 30)  # this seller's plan: half the default
    client_for(az_account).get_order(order_id)
    bucket = PaceBucket.objects.get(operation="getOrder@2026-01-01")
    assert bucket.rate == pytest.approx(0.25 * 0.9) and bucket.tokens < bucket.burst  # 0.9: our headroom
    reset_shared_buckets()


def test_an_action_held_back_by_pacing_spends_no_attempt_and_logs_no_failure(real_limits, az_account, settings):
    """Nothing was sent, so nothing failed: with no wait allowed, the shipments past the burst of ten
    (and what refilled meanwhile) are due again later with all their attempts left."""
    settings.CHANNEL_PACING_MAX_WAIT_SECONDS = 0
    az_account.create_store_order = False
    az_account.save()
    ids = real_limits.amazon.create_orders(count=20)
    account_import_orders(account_id=az_account.pk)
    for order in Order.objects.filter(channel_order_id__in=ids):
        order_ship(order_id=order.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(order.pk)))

    outbox.process_due_actions()

    held = ChannelAction.objects.exclude(state=ChannelAction.State.SUCCEEDED)
    assert 10 <= ChannelAction.objects.filter(state=ChannelAction.State.SUCCEEDED).count() < 20
    assert {(a.state, a.attempts) for a in held} == {(ChannelAction.State.PENDING, 0)}
    assert all(a.next_attempt_at > timezone.now() for a in held)
    assert not OrderLog.objects.filter(message__contains="failed").exists()
    assert not [r for r in real_limits.requests.all() if r.status == 429]


def test_an_import_the_rate_limit_stops_is_held_back_not_failed(real_limits, az_account, settings, monkeypatch):
    """Amazon's order listing allows a burst, then a call every few minutes: a run that reaches the
    limit stops early without being an import failure (no backoff, health not failing), and what
    it stored stays."""
    from channels import pacing
    from channels.models import ChannelAccount
    from orders.services.import_runs import ImportHeldBack

    settings.CHANNEL_PACING_MAX_WAIT_SECONDS = 0
    monkeypatch.setitem(pacing.AMAZON_LIMITS, "searchOrders", Limit(0.0056, 1))
    real_limits.amazon.create_orders(count=3)
    account_import_orders(account_id=az_account.pk)  # the one call of the burst
    assert Order.objects.count() == 3

    with pytest.raises(ImportHeldBack):
        account_import_orders(account_id=az_account.pk)

    account = ChannelAccount.objects.get(pk=az_account.pk)
    assert account.last_import_error == "" and account.import_failing_since is None and account.import_failures == 0
    assert Order.objects.count() == 3


def test_amazon_accounts_are_polled_no_more_often_than_the_listing_allows(db, az_account, wm_account, settings):
    from django_celery_beat.models import PeriodicTask

    from orders.schedules import import_task_name, sync_import_schedules

    settings.IMPORT_INTERVAL_SECONDS = 15
    sync_import_schedules()
    assert PeriodicTask.objects.get(name=import_task_name(az_account.pk)).interval.every == 180
    assert PeriodicTask.objects.get(name=import_task_name(wm_account.pk)).interval.every == 15
