"""A big import keeps PostgreSQL's statistics fresh as it writes (issue 14), so its per-page lookups
stay on their indexes instead of slowing down as the tables outgrow what the planner knows."""

import pytest
from django.db import connection

from orders.services.importing import FreshStatistics

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def last_analyzed() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, last_analyze FROM pg_stat_user_tables WHERE relname = ANY(%s)",
                       [list(FreshStatistics.TABLES)])
        return dict(cursor.fetchall())


def test_the_import_analyzes_its_tables_each_time_it_has_written_a_fifth_more():
    statistics = FreshStatistics()
    before = last_analyzed()
    statistics.after(written=1999)
    assert last_analyzed() == before  # too little written to matter
    statistics.after(written=2000)
    analyzed = last_analyzed()
    assert set(analyzed) == set(FreshStatistics.TABLES)
    assert all(analyzed[table] is not None and analyzed[table] != before.get(table) for table in analyzed)
    statistics.after(written=2500)
    assert last_analyzed() == analyzed  # the next one only after another 2,000 (or a fifth of the table)
