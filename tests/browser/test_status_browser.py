"""Issue 10 §2 in a real browser: the status column shows what Walmart confirmed plus what is on its
way; messages say "queued"; a bulk job's page shows done / failed / waiting per order, with links,
and retries the failed ones. Screenshots land in $SCREENSHOT_DIR (default: the test's tmp dir)."""

import time

import pytest

from orders import actions, outbox
from orders.actions import bulk_job_run
from orders.models import BulkJob, ChannelAction, Order
from orders.services.importing import account_import_orders

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
State = ChannelAction.State


def run_until(condition, *, timeout: float = 10.0) -> None:
    """Carry out due actions, as a worker would, until `condition()` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the channel actions did not get there in time"
        outbox.process_due_actions()
        time.sleep(0.02)


def test_status_messages_and_bulk_job_say_what_walmart_confirmed(admin_page, sandbox, wm_account, shots,
                                                                 monkeypatch, fast_retries):
    page = admin_page
    monkeypatch.setattr(actions, "INLINE_LIMIT", 2)  # three orders make a bulk job, as 201 would
    wm_account.create_store_order = False
    wm_account.save()
    done_po, failed_po, waiting_po, single_po = sandbox.walmart.create_orders(count=4)
    account_import_orders(account_id=wm_account.pk)
    order = {po: Order.objects.get(channel_order_id=po) for po in (done_po, failed_po, waiting_po, single_po)}
    sandbox.faults.add(kind="500", path=f"/{failed_po}/acknowledge$", count=20)  # fails on every attempt
    sandbox.faults.add(kind="429", path=f"/{waiting_po}/acknowledge$", retry_after_ms=600_000)  # retried in 10 min

    # One order from its page: the message says queued, not done.
    page.go(f"/admin/orders/order/{order[single_po].pk}/change/")
    page.click("#acknowledge")
    assert page.locator(".messagelist li").first.inner_text() == "Acknowledge: queued."

    # Three from the grid: a bulk job.
    page.go("/admin/orders/order/?status=created")
    for po in (done_po, failed_po, waiting_po):
        page.check(f"#result_list tr:has(a:text-is('{po}')) input.action-select")
    page.select_option("select[name=action]", "acknowledge_action")
    page.click("button[name=index]")
    assert sorted(page.locator("#confirmation-orders a").all_inner_texts()) == sorted([done_po, failed_po, waiting_po])
    page.click("#action-confirmation input[type=submit]")
    assert "queued to run in the background on 3 orders" in page.inner_text(".messagelist")
    job = BulkJob.objects.get()
    bulk_job_run(job_id=job.pk)  # what the worker does
    run_until(lambda: ChannelAction.objects.filter(order=order[failed_po], state=State.FAILED).exists()
              and ChannelAction.objects.filter(order=order[done_po], state=State.SUCCEEDED).exists()
              and ChannelAction.objects.filter(order=order[waiting_po], attempts__gte=1).exists())

    page.go("/admin/orders/order/?o=-1")
    page.wait_for_selector("#result_list")
    page.screenshot(path=str(shots / "status-grid.png"))

    def status_cell(po):
        return page.locator(f"#result_list tr:has(a:text-is('{po}')) td.field-status_column")

    assert status_cell(done_po).inner_text().strip() == "Unshipped"
    waiting = status_cell(waiting_po)
    # Walmart refused it once (rate limit) and it is tried again later: said so, the reason on hover.
    assert waiting.inner_text().split("\n") == ["Created → Unshipped",
                                                 "waiting for Walmart: attempt 1 of 4 failed, trying again"]
    assert waiting.locator("[title]").get_attribute("title").startswith("Created → Unshipped, waiting for Walmart. "
                                                                        "Acknowledge: ")
    failed = status_cell(failed_po).inner_text()
    assert failed.startswith("Created\nError: Acknowledge") and failed.endswith("Retry")

    page.go(f"/admin/orders/bulkjob/{job.pk}/change/")
    page.screenshot(path=str(shots / "status-bulk-job.png"), full_page=True)
    assert page.inner_text(".field-state .readonly") == "Waiting for the channel"  # not Done while one waits
    assert "On the channel: 1 done, 1 failed, 1 waiting." in page.inner_text(".field-summary")
    for outcome, po in (("done", done_po), ("failed", failed_po), ("waiting", waiting_po)):
        section = page.locator(f".bulk-outcome-{outcome}")
        assert section.locator("strong").inner_text().endswith(": 1")
        assert section.locator("a", has_text=po).get_attribute("href") == f"/admin/orders/order/{order[po].pk}/change/"

    sandbox.faults.clear()
    page.click("#retry-failed")
    assert page.locator("#confirmation-orders a").all_inner_texts() == [failed_po]
    page.click("#action-confirmation input[type=submit]")
    assert page.locator(".messagelist li").first.inner_text() == "Retry Failed Sync: queued."
    run_until(lambda: ChannelAction.objects.filter(order=order[failed_po], state=State.SUCCEEDED).exists())
    page.go(f"/admin/orders/bulkjob/{job.pk}/change/")
    assert "On the channel: 2 done, 0 failed, 1 waiting." in page.inner_text(".field-summary")
    assert sandbox.walmart.orders[failed_po].acknowledged and not sandbox.walmart.orders[waiting_po].acknowledged
