"""Issue 8 §2 (R-SYNC-5): every exception that ends an import run is recorded on the account and
shown by its sync health; beat retries with backoff; health says OK only after a completed run."""

import datetime as dt
from contextlib import contextmanager

import pytest
from django.db import connection
from django.utils import timezone

from channels.models import ChannelAccount
from channels.selectors import account_sync_health
from orders import tasks
from orders.models import Order
from orders.services.importing import ImportFailed, account_import_orders


def health(account):
    return account_sync_health(account=ChannelAccount.objects.get(pk=account.pk))


@contextmanager
def trigger_on_order_insert(body: str):
    """A PostgreSQL fault injected where the import writes: `body` runs for each order inserted."""
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE FUNCTION import_fault() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body} "
                       "RETURN NEW; END $$")
        cursor.execute("CREATE TRIGGER import_fault BEFORE INSERT ON orders_order FOR EACH ROW "
                       "EXECUTE FUNCTION import_fault()")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER IF EXISTS import_fault ON orders_order")
            cursor.execute("DROP FUNCTION IF EXISTS import_fault()")


def assert_recorded_then_cleared(account, words: str) -> None:
    recorded = ChannelAccount.objects.get(pk=account.pk)
    assert words in recorded.last_import_error
    assert recorded.import_failing_since and recorded.import_failures == 1
    assert recorded.import_retry_at > timezone.now()
    assert not health(account).is_ok and "Last import failed" in health(account).summary


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_deadlock_ending_the_run_is_recorded_and_health_is_not_ok(sandbox, wm_account):
    sandbox.walmart.create_orders(count=3)
    account_import_orders(account_id=wm_account.pk)
    assert health(wm_account).is_ok
    sandbox.walmart.create_orders(count=3)

    with trigger_on_order_insert("RAISE EXCEPTION 'deadlock detected' USING ERRCODE = 'deadlock_detected';"):
        with pytest.raises(ImportFailed):
            account_import_orders(account_id=wm_account.pk)

    assert_recorded_then_cleared(wm_account, "deadlock detected")
    account_import_orders(account_id=wm_account.pk)
    assert health(wm_account).is_ok and Order.objects.count() == 6


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_dropped_database_connection_is_recorded_on_a_new_one(sandbox, wm_account):
    sandbox.walmart.create_orders(count=3)

    # pg_terminate_backend of the import's own backend, in the middle of its page write
    with trigger_on_order_insert("PERFORM pg_terminate_backend(pg_backend_pid());"):
        with pytest.raises(ImportFailed):
            account_import_orders(account_id=wm_account.pk)
        assert_recorded_then_cleared(wm_account, "database error (OperationalError): terminating connection")

    account_import_orders(account_id=wm_account.pk)
    assert health(wm_account).is_ok and Order.objects.count() == 3


@pytest.mark.django_db
def test_undecryptable_credentials_are_recorded_in_plain_words(sandbox, wm_account):
    ChannelAccount.objects.filter(pk=wm_account.pk).update(encrypted_credentials="gAAAAA-not-a-token")

    with pytest.raises(ImportFailed):
        account_import_orders(account_id=wm_account.pk)

    assert_recorded_then_cleared(wm_account, "cannot be decrypted: enter the account's credentials again")
    assert not sandbox.requests.all()


@pytest.mark.django_db
def test_beat_retries_a_failing_account_with_backoff(sandbox, wm_account, settings):
    settings.IMPORT_INTERVAL_SECONDS = 60
    sandbox.faults.add(kind="500", path=r"^/v3/orders$", count=9)
    for failures, wait in [(1, 60), (2, 120), (3, 240)]:
        with pytest.raises(ImportFailed):
            tasks.import_account_orders(wm_account.pk)
        account = ChannelAccount.objects.get(pk=wm_account.pk)
        assert account.import_failures == failures
        assert abs((account.import_retry_at - account.last_import_error_at).total_seconds() - wait) < 1
        sandbox.requests.clear()
        tasks.import_account_orders(wm_account.pk)  # beat's next tick, before the retry time: skipped
        assert not sandbox.requests.all()
        ChannelAccount.objects.filter(pk=wm_account.pk).update(import_retry_at=timezone.now())

    sandbox.faults.clear()
    tasks.import_account_orders(wm_account.pk)
    account = ChannelAccount.objects.get(pk=wm_account.pk)
    assert account.import_failures == 0 and account.import_retry_at is None and health(wm_account).is_ok


@pytest.mark.django_db
def test_health_is_ok_only_after_a_run_that_completed(wm_account, settings):
    assert health(wm_account).summary == "Never imported"
    now = timezone.now()
    ChannelAccount.objects.filter(pk=wm_account.pk).update(
        last_import_succeeded_at=now - dt.timedelta(hours=1),
        last_import_started_at=now - dt.timedelta(minutes=settings.IMPORT_RUN_STALE_MINUTES + 1))
    assert not health(wm_account).is_ok and "did not complete" in health(wm_account).summary  # a killed worker

    ChannelAccount.objects.filter(pk=wm_account.pk).update(last_import_succeeded_at=now)
    assert health(wm_account).is_ok


def test_an_account_whose_change_the_channel_refused_is_not_in_sync_however_well_it_imports(walmart_account):
    walmart_account.last_import_started_at = walmart_account.last_import_succeeded_at = timezone.now()
    assert account_sync_health(account=walmart_account).is_ok
    health = account_sync_health(account=walmart_account, failed_actions=1)
    assert (health.is_ok, health.summary) == (False, "Imports OK; 1 failed channel action")
    health = account_sync_health(account=walmart_account, open_import_problems=2, failed_actions=3)
    assert health.summary == "Import problems: 2 orders kept aside; 3 failed channel actions"


def test_a_failed_import_names_its_next_try_only_while_it_is_ahead(walmart_account):
    now = timezone.now()
    walmart_account.import_failing_since = now - dt.timedelta(minutes=5)
    walmart_account.last_import_error = "Walmart orders: HTTP 503"
    walmart_account.import_retry_at = now + dt.timedelta(minutes=2)
    ahead = account_sync_health(account=walmart_account).summary
    walmart_account.import_retry_at = now - dt.timedelta(minutes=1)
    gone_by = account_sync_health(account=walmart_account).summary
    assert ahead.endswith(f"(next try {walmart_account.import_retry_at + dt.timedelta(minutes=3):%H:%M})")
    assert gone_by == "Last import failed: Walmart orders: HTTP 503 (retry due now)"
