"""A large "select all" in a real browser: the confirmation page says its count is an estimate, and
the job's page says how many orders it counted and took. Screenshots in $SCREENSHOT_DIR."""

import re

import pytest

from orders.actions import bulk_job_run
from orders.admin_lists import EstimatedCountPaginator
from orders.models import BulkJob, OrderStatus
from tests.factories import create_order

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_select_all_on_an_estimate_then_the_job_page_says_what_it_took(admin_page, walmart_account, monkeypatch,
                                                                      shots):
    # Every result counts as large (the estimate of a million orders, on a few), and is a background job.
    monkeypatch.setattr(EstimatedCountPaginator, "exact_below", 0)
    monkeypatch.setattr("orders.admin.INLINE_LIMIT", 0)
    for _ in range(4):
        create_order(account=walmart_account, status=OrderStatus.CREATED)
    page = admin_page

    page.go("/admin/orders/order/?status=created")
    page.check("#action-toggle")
    page.click(".actions .question a")  # "Select all N orders"
    page.select_option("select[name=action]", "acknowledge_action")
    page.click("button[name=index]")
    text = page.inner_text("#action-confirmation")
    [estimate] = re.findall(r"Acknowledge on about (\d+) orders? — the database's estimate", text)
    page.screenshot(path=str(shots / "bulk-estimate-confirmation.png"), full_page=True)
    page.click("#action-confirmation input[type=submit]")
    assert "queued to run in the background" in page.inner_text(".messagelist")

    job = bulk_job_run(job_id=BulkJob.objects.get().pk)  # what the worker does
    page.go(f"/admin/orders/bulkjob/{job.pk}/change/")
    noted = page.inner_text("body")
    assert (f"The confirmation page said about {estimate} order{'' if estimate == '1' else 's'}, the database's "
            "estimate for a selection this large; counted exactly when the job started, they were 4.") in noted
    assert "4 / 4" in noted
    page.screenshot(path=str(shots / "bulk-estimate-job.png"), full_page=True)
