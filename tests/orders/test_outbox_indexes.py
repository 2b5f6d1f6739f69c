"""Issue 13: the outbox's claim and beat's sweep read the partial indexes of what is due, never an
index or a scan of every action ever sent (at 2,000,000 actions that costs 100 times the target)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders import outbox
from orders.models import ChannelAction
from tests.factories import ChannelActionFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def _plans(function) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        function()
    plans = []
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")  # the tiny test table would be scanned whatever the indexes
        for query in captured.captured_queries:
            if query["sql"].startswith(("SELECT", "UPDATE")):
                cursor.execute(f"EXPLAIN {query['sql']}")
                plans.append("\n".join(row[0] for row in cursor.fetchall()))
        cursor.execute("RESET enable_seqscan")
    return plans


@pytest.mark.parametrize("step", [outbox.claim, outbox.sweep_due_actions])
def test_with_nothing_due_the_outbox_reads_only_what_is_due(walmart_account, step, monkeypatch):
    monkeypatch.setattr(outbox, "dispatch_drains", lambda: None)
    for state in (ChannelAction.State.SUCCEEDED, ChannelAction.State.FAILED):
        ChannelActionFactory(order__account=walmart_account, state=state)
    plans = _plans(step)
    assert plans
    for plan in plans:
        assert "Seq Scan on orders_channelaction" not in plan, plan
        # A state looked up in an index that does not start with it: every entry of that index is read.
        assert "Index Cond: ((state)::text" not in plan, plan
