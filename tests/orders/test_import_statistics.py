"""A big import keeps PostgreSQL's statistics fresh as it writes (issue 14), so its per-page lookups
stay on their indexes instead of slowing down as the tables outgrow what the planner knows; it
reads only the columns those lookups filter on, each time the tables grew by half."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders.models import Order
from orders.services.importing import FreshStatistics
from tests.factories import OrderFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TABLES = ["orders_order", "orders_orderitem", "orders_invoice", "orders_channelaction"]


def last_analyzed() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, last_analyze FROM pg_stat_user_tables WHERE relname = ANY(%s)", [TABLES])
        return dict(cursor.fetchall())


def analyzes_during(statistics: FreshStatistics, *, written: int) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        statistics.after(written=written)
    return [query["sql"] for query in queries.captured_queries if query["sql"].startswith("ANALYZE")]


def test_the_import_analyzes_the_columns_of_its_lookups_once_it_wrote_2000_orders():
    statistics = FreshStatistics()
    before = last_analyzed()
    assert analyzes_during(statistics, written=1999) == []  # too little written to matter
    assert analyzes_during(statistics, written=2000) == [
        "ANALYZE orders_order (account_id, channel_order_id), orders_orderitem (order_id), "
        "orders_invoice (order_id), orders_channelaction (order_id, state)"]
    analyzed = last_analyzed()
    assert set(analyzed) == set(TABLES)
    assert all(analyzed[table] is not None and analyzed[table] != before.get(table) for table in analyzed)
    assert analyzes_during(statistics, written=3999) == []  # the next one only after another 2,000


def test_the_next_analyze_waits_until_the_orders_grew_by_half():
    statistics = FreshStatistics()
    statistics.rows_then = 10_000  # as if the tables held 10,000 orders at the last ANALYZE
    assert analyzes_during(statistics, written=4999) == []
    assert len(analyzes_during(statistics, written=5000)) == 1


def test_analyzing_a_few_columns_still_tells_the_planner_how_many_rows_there_are():
    OrderFactory.create_batch(3)
    FreshStatistics().analyze()
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [Order._meta.db_table])
        assert cursor.fetchone()[0] == 3
