"""Shared start-up for bench scripts: Django on a throwaway test database (never your data)."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
os.environ.setdefault("CELERY_BROKER_URL", "memory://")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("CHANNEL_EXTRA_HOSTS", "127.0.0.1,localhost")  # the sandbox

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402


def test_database(*, keepdb: bool = False, purpose: str = ""):
    """Create bench_<name> (PostgreSQL) or an in-memory SQLite database, migrated; returns its dropper.
    With keepdb an existing bench_<name> is reused and only migrated. A `purpose` gives the database
    its own name (bench_<name>_<purpose>), so data kept for one bench is not clobbered by another."""
    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    if connection.vendor != "sqlite":
        connection.settings_dict["TEST"]["NAME"] = "_".join(filter(None, ["bench", old_name, purpose]))
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=keepdb, serialize=False)
    return lambda: connection.creation.destroy_test_db(old_name, verbosity=0)


def machine() -> str:
    import platform

    return f"{platform.node()} {os.cpu_count()} cores, Python {platform.python_version()}, {connection.vendor}"


def timed_get(client, url: str, params: dict, *, runs: int):
    """GET a page `runs` times: its server times in ms, the last run's queries and response."""
    import time

    from django.test.utils import CaptureQueriesContext

    timings = []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url, params)
            timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, params, response.status_code)
    return timings, queries.captured_queries, response
